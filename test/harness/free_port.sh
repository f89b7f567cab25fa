# Sourced: free_port prints a TCP port on 127.0.0.1 that nothing listens on
# (random, so parallel runs rarely race for the same one).
free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
  echo "free_port: no free port" >&2
  return 1
}
