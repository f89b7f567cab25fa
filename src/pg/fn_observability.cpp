// llmeval._worker_heartbeats(): the workers' own reports from shared memory,
// behind the llmeval.worker_status view. No rows when the library is not
// preloaded (there are no workers then).
#include "pg/engine_shared.hpp"
#include "pg/guard.hpp"

LLMEVAL_PG_FUNCTION(llmeval_worker_heartbeats) {
  llmeval::pg::WorkerHeartbeat beats[llmeval::pg::kMaxWorkers];
  const bool available = llmeval::pg::ReadHeartbeats(beats);
  llmeval::pg::PgCall([&]() noexcept {
    InitMaterializedSRF(fcinfo, 0);
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    if (!available) return;
    for (int slot = 0; slot < llmeval::pg::kMaxWorkers; ++slot) {
      const llmeval::pg::WorkerHeartbeat& h = beats[slot];
      if (h.pid == 0) continue;
      Datum values[7] = {Int32GetDatum(slot + 1), Int32GetDatum(h.pid), TimestampTzGetDatum(h.beat),
                         Int32GetDatum(h.in_flight), Int64GetDatum(h.completed),
                         Int64GetDatum(h.failed), Int64GetDatum(h.retried)};
      bool nulls[7] = {false, false, false, false, false, false, false};
      tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
    }
  });
  return static_cast<Datum>(0);
}
