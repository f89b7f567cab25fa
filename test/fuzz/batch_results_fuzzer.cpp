// libFuzzer target: what a provider's batch API returns (result files, batch
// objects, lists, upload replies) is untrusted input. The first byte picks
// the provider (even: OpenAI, odd: Anthropic), the rest is the reply.
// Invariants: nothing but well-formed results come out (a positive task id,
// an HTTP status or an error text), malformed lines are counted not thrown,
// and every parser returns (no exception escapes) on any bytes.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/provider/batch.hpp"

using namespace llmeval::core::provider;

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Kind kind = (data[0] & 1) ? Kind::kAnthropic : Kind::kOpenAI;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  int malformed = -1;
  for (const batch::Result& r : batch::ParseResults(kind, text, malformed)) {
    Check(r.task_id > 0);
    Check((r.status != 0) != !r.error.empty());
  }
  Check(malformed >= 0);
  const batch::Remote remote = batch::ParseRemote(kind, 200, text);
  Check(remote.ok != !remote.error.empty());
  Check(!remote.ok || !remote.id.empty());
  for (const batch::Remote& listed : batch::ParseList(kind, 200, text)) Check(listed.ok && !listed.id.empty());
  std::string error;
  bool retry = false;
  const std::string file = batch::ParseUpload(200, text, error, retry);
  Check(file.empty() != error.empty());
  return 0;
}
