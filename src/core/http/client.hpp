// A non-blocking HTTP client on libcurl's multi interface: many requests in
// flight on one thread, connections reused, separate connect and total
// timeouts. No Postgres here: the worker (src/pg) drives it with Poll() and
// waits on its latch in between. libcurl callbacks never throw.
//
// A Client is driven by one thread and is not thread-safe. Every request is
// an HTTP(S) POST, or a GET when asked (other schemes fail with kOther); libcurl honours the usual
// proxy environment variables. Response bodies over 64 MB (or a request's
// own max_response_bytes) fail with kOther.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace llmeval::core::http {

struct ClientOptions {
  int max_inflight = 16;            // at least 1; also the connections kept per host
  long connect_timeout_ms = 5000;   // 0: libcurl's default (300 s); negative is an error
  long request_timeout_ms = 60000;  // the whole request, connect included; 0: no limit
};

struct Request {
  uint64_t tag = 0;  // the caller's identifier, returned with the response (Cancel uses it)
  std::string url;
  std::vector<std::string> headers;  // "Name: value"; "Expect:" is added unless given
  std::string body;                  // POSTed as is (Content-Type from headers)
  bool get = false;                  // a GET instead (body ignored): batch status and files
  std::size_t max_response_bytes = 0;  // a larger body fails (kOther); 0: 64 MB
};

enum class Transport {
  kOk,             // a complete HTTP response was received (any status)
  kTimeout,        // connect or total timeout (CURLE_OPERATION_TIMEDOUT)
  kConnectFailed,  // refused, unreachable, DNS (COULDNT_CONNECT, COULDNT_RESOLVE_*)
  kReset,          // connection reset or closed before a complete response (GOT_NOTHING,
                   // PARTIAL_FILE, RECV_ERROR, SEND_ERROR, HTTP2_STREAM)
  kOther,          // anything else: bad URL or scheme, TLS, the body cap, setup failures
};

struct Response {
  uint64_t tag = 0;
  Transport transport = Transport::kOther;
  long status = 0;          // HTTP status when transport == kOk, else 0
  std::string body;         // decoded (gzip etc.); empty when transport != kOk
  std::string retry_after;  // the final response's Retry-After header, trimmed, if any
  std::string error;        // libcurl's message when transport != kOk, else empty
  double elapsed_ms = 0;    // from Submit to completion (as seen by Poll)
};

// A failed transfer as one line for task errors and logs: "timeout: ...",
// "connection failed: ...", "connection reset: ..." or "request failed: ...".
std::string TransportErrorText(const Response& response);

class Client {
 public:
  // Throws Error: kInvalidParameterValue for bad options, kInternal if
  // libcurl cannot be initialized.
  explicit Client(ClientOptions options);
  // Abandons whatever is in flight.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Starts a request; false (and nothing started) when max_inflight requests
  // are already in flight. Once true, exactly one Response with this tag
  // comes from Poll unless the request is cancelled; a request libcurl
  // refuses to set up (say, a URL over 8 MB) is such a response (kOther),
  // reported by the next Poll.
  bool Submit(Request request);

  // Requests submitted and neither returned by Poll nor cancelled.
  std::size_t inflight() const;

  // Does network work for up to timeout_ms and appends completed requests
  // to done. Returns as soon as at least one request has completed, after
  // timeout_ms at the latest, and at once (without sleeping) when nothing is
  // in flight; timeout_ms <= 0 does the work that is ready without waiting.
  // Throws Error(kInternal) only if libcurl's multi handle itself fails.
  void Poll(int timeout_ms, std::vector<Response>& done);

  // Abandons the in-flight requests with this tag (all of them, should the
  // caller have reused a tag): no response will be returned for them. An
  // unknown tag is ignored.
  void Cancel(uint64_t tag);
  void CancelAll();

  // New limits for future requests: requests already in flight keep their
  // timeouts, and a lower max_inflight only makes Submit refuse until enough
  // have completed. Throws Error(kInvalidParameterValue) for bad options.
  void SetOptions(ClientOptions options);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmeval::core::http

#include "core/cpp_only.hpp"
