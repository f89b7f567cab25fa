# Sourced: free_port prints a TCP port on 127.0.0.1 that nothing listens on
# (random, so parallel runs rarely race for the same one), below the kernel's
# ephemeral range (32768 and up by default): a port in that range can be
# taken, between this check and the bind, as the source port of one of the
# workers' many outgoing connections ("bind: address already in use").
free_port() {
  local port low
  low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  [ "$low" -gt 21000 ] 2>/dev/null || low=32768
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % (low - 20000)))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
  echo "free_port: no free port" >&2
  return 1
}
