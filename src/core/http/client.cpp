// The HTTP client on libcurl's multi interface.
//
// Design:
// - One CURLM per Client. Its connection cache and DNS cache are shared by every
//   transfer, so keep-alive connections are reused across requests; easy handles
//   are recycled through a free list (curl_easy_reset keeps nothing of the old
//   request but does not touch the multi's connections).
// - Each in-flight request is a Transfer that owns everything libcurl points
//   into while the request runs: the POST body (CURLOPT_POSTFIELDS is not
//   copied), the header list, the error buffer, and the response being read.
// - Callbacks (body, headers) are noexcept in effect: they catch everything
//   and abort only their own transfer by returning a short count; why is
//   recorded in the Transfer and reported when the transfer completes.
// - We run inside a Postgres backend: CURLOPT_NOSIGNAL (no alarm(), no
//   SIGPIPE), and curl_multi_perform runs with asynchronous signals blocked
//   so that the threads of libcurl's threaded resolver, which inherit the
//   signal mask, never run a Postgres signal handler.
// - Not thread-safe: one Client is driven by one thread.
#include "core/http/client.hpp"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <new>
#include <string_view>
#include <utility>

#include "core/error.hpp"

namespace llmeval::core::http {

namespace {

using Clock = std::chrono::steady_clock;

// Response bodies above this fail with Transport::kOther, so a misbehaving
// server cannot make a backend allocate without bound.
constexpr std::size_t kMaxResponseBytes = std::size_t{64} << 20;
constexpr const char* kBodyTooLarge = "response body exceeds the 64 MB limit";
constexpr std::string_view kRetryAfter = "retry-after:";

// curl_global_init is not guaranteed thread-safe on every build, so it runs
// once per process. curl_global_cleanup is never called: the library lives as
// long as the backend and other code in the process may use libcurl too.
std::once_flag global_init_once;
CURLcode global_init_result = CURLE_OK;

void GlobalInit() {
  std::call_once(global_init_once,
                 [] { global_init_result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (global_init_result != CURLE_OK) {
    throw Error(ErrorKind::kInternal, std::string("could not initialize libcurl: ") +
                                          curl_easy_strerror(global_init_result));
  }
}

// Blocks asynchronous signals for its lifetime (see the note at the top).
// Synchronous ones stay deliverable: blocking them would turn a crash into a
// silent kill and hide it from sanitizers.
class BlockSignals {
 public:
  BlockSignals() {
    sigset_t all;
    sigfillset(&all);
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP}) sigdelset(&all, sig);
    ok_ = pthread_sigmask(SIG_BLOCK, &all, &old_) == 0;
  }
  ~BlockSignals() {
    if (ok_) pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  BlockSignals(const BlockSignals&) = delete;
  BlockSignals& operator=(const BlockSignals&) = delete;

 private:
  sigset_t old_{};
  bool ok_ = false;
};

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// prefix in lower case.
bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (AsciiLower(s[i]) != prefix[i]) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

Transport MapCode(CURLcode code) {
  switch (code) {
    case CURLE_OK:
      return Transport::kOk;
    case CURLE_OPERATION_TIMEDOUT:  // both the connect and the total timeout
      return Transport::kTimeout;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return Transport::kConnectFailed;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:   // closed before any byte of a response
    case CURLE_PARTIAL_FILE:  // closed before Content-Length bytes
    case CURLE_HTTP2_STREAM:  // the server reset our HTTP/2 stream
      return Transport::kReset;
    default:
      return Transport::kOther;
  }
}

// Makes room for `more` elements, growing geometrically (a bare reserve of
// size() + 1 would reallocate on every call).
template <typename T>
void ReserveMore(std::vector<T>& v, std::size_t more) {
  const std::size_t need = v.size() + more;
  if (need > v.capacity()) v.reserve(std::max(need, 2 * v.capacity()));
}

void CheckOptions(const ClientOptions& options) {
  if (options.max_inflight < 1) {
    throw Error(ErrorKind::kInvalidParameterValue, "max_inflight must be at least 1");
  }
  if (options.connect_timeout_ms < 0 || options.request_timeout_ms < 0) {
    throw Error(ErrorKind::kInvalidParameterValue, "HTTP timeouts must not be negative");
  }
}

}  // namespace

struct Client::Impl {
  // Why a callback aborted its transfer.
  enum class Abort { kNone, kBodyTooLarge, kCallbackFailed };

  struct Transfer {
    CURL* easy = nullptr;
    std::size_t slot = 0;  // index in Impl::active
    uint64_t tag = 0;
    std::string request_body;  // CURLOPT_POSTFIELDS points here
    curl_slist* headers = nullptr;
    std::string body;
    std::size_t max_body = kMaxResponseBytes;
    std::string retry_after;
    Abort abort = Abort::kNone;
    char errbuf[CURL_ERROR_SIZE] = {};
    Clock::time_point start;

    Transfer() = default;
    Transfer(const Transfer&) = delete;
    Transfer& operator=(const Transfer&) = delete;
    ~Transfer() {
      curl_slist_free_all(headers);
      if (easy != nullptr) curl_easy_cleanup(easy);
    }
  };

  ClientOptions options;
  CURLM* multi = nullptr;
  std::vector<std::unique_ptr<Transfer>> active;  // added to multi
  std::vector<std::unique_ptr<Transfer>> idle;    // reset handles, ready for reuse
  std::vector<Response> failed;                   // failed in Submit, reported by Poll

  ~Impl() {
    for (auto& t : active) curl_multi_remove_handle(multi, t->easy);
    active.clear();
    idle.clear();
    if (multi != nullptr) curl_multi_cleanup(multi);
  }

  void ApplyMultiOptions() {
    const long n = options.max_inflight;
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, n);
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, n);
  }

  // The callbacks catch everything (they are not declared noexcept only so
  // that their type is exactly the one libcurl calls through).

  // Body callback. Returning anything but size * nmemb aborts the transfer
  // with CURLE_WRITE_ERROR.
  static size_t OnBody(char* data, size_t size, size_t nmemb, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const std::size_t n = size * nmemb;
    try {
      if (n > t->max_body - t->body.size()) {
        t->abort = Abort::kBodyTooLarge;
        return 0;
      }
      t->body.append(data, n);
      return n;
    } catch (...) {
      t->abort = Abort::kCallbackFailed;
      return 0;
    }
  }

  // Header callback: one complete header line per call, status lines
  // included. A new status line (after a 1xx, or a proxy's CONNECT reply)
  // starts a new response, whose headers alone count.
  static size_t OnHeader(char* data, size_t size, size_t nitems, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const std::size_t n = size * nitems;
    try {
      std::string_view line(data, n);
      if (StartsWithNoCase(line, "http/")) {
        t->retry_after.clear();
      } else if (StartsWithNoCase(line, kRetryAfter)) {
        t->retry_after.assign(Trim(line.substr(kRetryAfter.size())));
      }
      return n;
    } catch (...) {
      t->abort = Abort::kCallbackFailed;
      return 0;
    }
  }

  std::unique_ptr<Transfer> TakeIdle() {
    if (!idle.empty()) {
      auto t = std::move(idle.back());
      idle.pop_back();
      return t;
    }
    auto t = std::make_unique<Transfer>();
    t->easy = curl_easy_init();
    if (t->easy == nullptr) throw std::bad_alloc();
    return t;
  }

  // Returns a transfer that is no longer in the multi to the free list.
  void Recycle(std::unique_ptr<Transfer> t) noexcept {
    curl_easy_reset(t->easy);
    curl_slist_free_all(t->headers);
    t->headers = nullptr;
    // Swap, not clear(): a request or response may have been megabytes.
    std::string().swap(t->request_body);
    std::string().swap(t->body);
    std::string().swap(t->retry_after);
    t->abort = Abort::kNone;
    t->errbuf[0] = '\0';
    if (idle.size() >= static_cast<std::size_t>(options.max_inflight)) return;  // t freed
    try {
      idle.push_back(std::move(t));
    } catch (...) {
      // t, if not moved, is freed
    }
  }

  // Takes a transfer out of the multi and of `active`.
  std::unique_ptr<Transfer> Detach(Transfer* t) noexcept {
    curl_multi_remove_handle(multi, t->easy);
    const std::size_t slot = t->slot;
    std::unique_ptr<Transfer> owned = std::move(active[slot]);
    if (slot + 1 != active.size()) {
      active[slot] = std::move(active.back());
      active[slot]->slot = slot;
    }
    active.pop_back();
    return owned;
  }

  // Sets every option of a request; the first failure is returned.
  CURLcode Configure(Transfer& t, Request& request) {
    CURL* e = t.easy;
    t.tag = request.tag;
    t.max_body = request.max_response_bytes > 0 ? request.max_response_bytes : kMaxResponseBytes;
    t.request_body = std::move(request.body);
    t.errbuf[0] = '\0';

    bool has_expect = false;
    for (const std::string& h : request.headers) {
      if (StartsWithNoCase(h, "expect:")) has_expect = true;
      curl_slist* appended = curl_slist_append(t.headers, h.c_str());
      if (appended == nullptr) return CURLE_OUT_OF_MEMORY;
      t.headers = appended;
    }
    // libcurl sends "Expect: 100-continue" with large bodies and waits up to
    // a second for the 100; APIs answer the request, so skip that round trip.
    if (!has_expect) {
      curl_slist* appended = curl_slist_append(t.headers, "Expect:");
      if (appended == nullptr) return CURLE_OUT_OF_MEMORY;
      t.headers = appended;
    }

    CURLcode rc = CURLE_OK;
    auto set = [&rc](CURLcode r) {
      if (rc == CURLE_OK) rc = r;
    };
    set(curl_easy_setopt(e, CURLOPT_PRIVATE, static_cast<void*>(&t)));
    set(curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.errbuf));
    set(curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L));
    set(curl_easy_setopt(e, CURLOPT_URL, request.url.c_str()));
#if LIBCURL_VERSION_NUM >= 0x075500
    set(curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https"));
    set(curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"));
#else
    set(curl_easy_setopt(e, CURLOPT_PROTOCOLS, long{CURLPROTO_HTTP | CURLPROTO_HTTPS}));
    set(curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS, long{CURLPROTO_HTTP | CURLPROTO_HTTPS}));
#endif
    // HTTP/2 over TLS when the server offers it, HTTP/1.1 otherwise. Waiting
    // for a connection that might multiplex only makes sense over TLS, where
    // ALPN answers during the handshake; over plain HTTP it held every new
    // request until the first response arrived (a whole extra latency).
    set(curl_easy_setopt(e, CURLOPT_HTTP_VERSION, long{CURL_HTTP_VERSION_2TLS}));
    const bool tls = request.url.compare(0, 8, "https://") == 0;
    set(curl_easy_setopt(e, CURLOPT_PIPEWAIT, tls ? 1L : 0L));
    set(curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L));
    set(curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, options.connect_timeout_ms));
    set(curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, options.request_timeout_ms));
    if (request.get) {
      set(curl_easy_setopt(e, CURLOPT_HTTPGET, 1L));
    } else {
      set(curl_easy_setopt(e, CURLOPT_POST, 1L));
      set(curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                           static_cast<curl_off_t>(t.request_body.size())));
      set(curl_easy_setopt(e, CURLOPT_POSTFIELDS, t.request_body.c_str()));
    }
    set(curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers));
    set(curl_easy_setopt(e, CURLOPT_USERAGENT, "pg_llmeval"));
    // Any encoding libcurl can decode; the body cap applies to decoded bytes.
    set(curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, ""));
    // Fails early (CURLE_FILESIZE_EXCEEDED) when Content-Length is too big.
    set(curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(t.max_body)));
    set(curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Impl::OnBody));
    set(curl_easy_setopt(e, CURLOPT_WRITEDATA, static_cast<void*>(&t)));
    set(curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Impl::OnHeader));
    set(curl_easy_setopt(e, CURLOPT_HEADERDATA, static_cast<void*>(&t)));
    return rc;
  }

  void FailSubmit(uint64_t tag, std::string error) {
    Response r;
    r.tag = tag;
    r.transport = Transport::kOther;
    r.error = std::move(error);
    failed.push_back(std::move(r));
  }

  // The response of a finished transfer, which stays in the multi: the caller
  // detaches it.
  static Response MakeResponse(Transfer& t, CURLcode code) {
    Response r;
    r.tag = t.tag;
    r.elapsed_ms = std::chrono::duration<double, std::milli>(Clock::now() - t.start).count();
    if (code == CURLE_OK && t.abort == Abort::kNone) {
      r.transport = Transport::kOk;
      long status = 0;
      curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
      r.status = status;
      r.body = std::move(t.body);
      r.retry_after = std::move(t.retry_after);
      return r;
    }
    if (t.abort == Abort::kBodyTooLarge || code == CURLE_FILESIZE_EXCEEDED) {
      r.transport = Transport::kOther;
      r.error = kBodyTooLarge;
    } else if (t.abort == Abort::kCallbackFailed) {
      r.transport = Transport::kOther;
      r.error = "out of memory while reading the response";
    } else {
      r.transport = MapCode(code);
      r.error = t.errbuf[0] != '\0' ? t.errbuf : curl_easy_strerror(code);
    }
    return r;
  }

  void Perform() {
    int running = 0;
    CURLMcode mc;
    {
      BlockSignals blocked;
      mc = curl_multi_perform(multi, &running);
    }
    if (mc != CURLM_OK) {
      throw Error(ErrorKind::kInternal,
                  std::string("curl_multi_perform failed: ") + curl_multi_strerror(mc));
    }
  }

  // Moves finished transfers to done.
  void Collect(std::vector<Response>& done) {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      char* priv = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
      auto* t = reinterpret_cast<Transfer*>(priv);
      const CURLcode code = msg->data.result;  // msg is invalid once detached
      // Detach and recycle even if building the response throws: the DONE
      // message is consumed and would never come again.
      struct Finish {
        Impl* impl;
        Transfer* t;
        ~Finish() { impl->Recycle(impl->Detach(t)); }
      } finish{this, t};
      done.push_back(MakeResponse(*t, code));
    }
  }
};

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>()) {
  CheckOptions(options);
  GlobalInit();
  impl_->options = options;
  impl_->multi = curl_multi_init();
  if (impl_->multi == nullptr) throw Error(ErrorKind::kInternal, "curl_multi_init failed");
  impl_->ApplyMultiOptions();
}

Client::~Client() = default;

std::size_t Client::inflight() const { return impl_->active.size() + impl_->failed.size(); }

bool Client::Submit(Request request) {
  Impl& m = *impl_;
  if (inflight() >= static_cast<std::size_t>(m.options.max_inflight)) return false;
  // Room first, so that the push_backs below cannot throw.
  ReserveMore(m.active, 1);
  ReserveMore(m.failed, 1);

  std::unique_ptr<Impl::Transfer> t;
  try {
    t = m.TakeIdle();
  } catch (const std::bad_alloc&) {
    m.FailSubmit(request.tag, "could not create a libcurl handle");
    return true;
  }
  const CURLcode rc = m.Configure(*t, request);
  if (rc != CURLE_OK) {
    const uint64_t tag = t->tag;
    m.Recycle(std::move(t));
    m.FailSubmit(tag, std::string("could not set up the request: ") + curl_easy_strerror(rc));
    return true;
  }
  t->start = Clock::now();
  const CURLMcode mc = curl_multi_add_handle(m.multi, t->easy);
  if (mc != CURLM_OK) {
    const uint64_t tag = t->tag;
    m.Recycle(std::move(t));
    m.FailSubmit(tag, std::string("could not start the request: ") + curl_multi_strerror(mc));
    return true;
  }
  t->slot = m.active.size();
  m.active.push_back(std::move(t));
  return true;
}

void Client::Poll(int timeout_ms, std::vector<Response>& done) {
  Impl& m = *impl_;
  const std::size_t before = done.size();
  // Reserve first so that no completion is lost to a failed push_back.
  ReserveMore(done, m.active.size() + m.failed.size());
  for (Response& r : m.failed) done.push_back(std::move(r));
  m.failed.clear();
  if (m.active.empty()) return;

  const auto deadline = Clock::now() + std::chrono::milliseconds(std::max(timeout_ms, 0));
  for (;;) {
    m.Perform();
    m.Collect(done);
    if (done.size() > before || m.active.empty()) return;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return;
    // Returns on socket activity, at libcurl's next timer, or at the deadline,
    // whichever is first; EINTR counts as activity.
    const CURLMcode mc =
        curl_multi_poll(m.multi, nullptr, 0, static_cast<int>(left.count()), nullptr);
    if (mc != CURLM_OK) {
      throw Error(ErrorKind::kInternal,
                  std::string("curl_multi_poll failed: ") + curl_multi_strerror(mc));
    }
  }
}

void Client::Cancel(uint64_t tag) {
  Impl& m = *impl_;
  // Backwards: Detach moves the last transfer into the freed slot.
  for (std::size_t i = m.active.size(); i-- > 0;) {
    if (i < m.active.size() && m.active[i]->tag == tag) m.Recycle(m.Detach(m.active[i].get()));
  }
  m.failed.erase(std::remove_if(m.failed.begin(), m.failed.end(),
                                [tag](const Response& r) { return r.tag == tag; }),
                 m.failed.end());
}

void Client::CancelAll() {
  Impl& m = *impl_;
  while (!m.active.empty()) m.Recycle(m.Detach(m.active.back().get()));
  m.failed.clear();
}

void Client::SetOptions(ClientOptions options) {
  CheckOptions(options);
  Impl& m = *impl_;
  m.options = options;
  m.ApplyMultiOptions();
  if (m.idle.size() > static_cast<std::size_t>(options.max_inflight)) {
    m.idle.resize(static_cast<std::size_t>(options.max_inflight));
  }
}

std::string TransportErrorText(const Response& response) {
  switch (response.transport) {
    case Transport::kTimeout: return "timeout: " + response.error;
    case Transport::kConnectFailed: return "connection failed: " + response.error;
    case Transport::kReset: return "connection reset: " + response.error;
    default: return "request failed: " + response.error;
  }
}

}  // namespace llmeval::core::http
