// llmeval._wake_workers_on_commit(): called (through the queue trigger) when
// a transaction makes tasks pending. The workers are woken when it commits,
// not before: until then they could not see the tasks.
#include "pg/engine_shared.hpp"
#include "pg/guard.hpp"


namespace {

bool wake_pending = false;
bool callback_registered = false;

void WakeOnCommit(XactEvent event, void*) {
  if (!wake_pending) return;
  if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT) {
    wake_pending = false;
    llmeval::pg::WakeAllWorkers();
  } else if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT) {
    wake_pending = false;
  }
}

}  // namespace

LLMEVAL_PG_FUNCTION(llmeval_wake_workers_on_commit) {
  (void)fcinfo;
  if (!llmeval::pg::EngineSharedAvailable()) PG_RETURN_VOID();
  if (!callback_registered) {
    llmeval::pg::PgCall([]() noexcept { RegisterXactCallback(WakeOnCommit, nullptr); });
    callback_registered = true;
  }
  wake_pending = true;
  PG_RETURN_VOID();
}
