// The worker's loop: one Step at a time, the socket wait or the latch sleep
// between steps, settings reloads, interrupts and shutdown.
#include "pg/worker.hpp"

namespace llmeval::pg::worker {

void Worker::Step(bool woken) {
  const int64_t now = NowMs();
  if (!extension_ready_) {
    // A wake-up comes from a commit in this database that queued tasks:
    // the extension exists by then.
    if (!woken && now < next_extension_check_ms_) return;
    next_extension_check_ms_ = now + 10000;
    CheckExtension();
    if (!extension_ready_) return;
  }
  if (now >= next_lease_check_ms_) {
    next_lease_check_ms_ = now + kLeaseCheckMs;
    ReclaimExpiredLeases();
  }
  // (a wake-up, e.g. a rule just created, brings the next pass forward, at
  // most once a second)
  if (now >= next_online_ms_ || (woken && now >= last_online_ms_ + kOnlineIngestMs)) {
    last_online_ms_ = now;
    next_online_ms_ = now + (IngestOnlineRows() ? kOnlineIngestMs : kOnlineIdleMs);
  }
  if (!tasks_.empty() && now >= next_renewal_ms_) {
    next_renewal_ms_ = now + llmeval::pg::setting_lease_seconds * 1000 / 3;
    RenewLeases();
  }
  if (HasDeferred() && now >= next_deferred_ms_) StoreDeferred();
  if (!fold_pending_.empty() && now >= next_fold_ms_) FoldPendingJobCounters();
  // Results waiting for their job's row take no slot: their calls are done.
  const int held = static_cast<int>(tasks_.size() - deferred_completions_.size() -
                                    deferred_failures_.size());
  const int room = std::min(kClaimBatch, llmeval::pg::setting_max_inflight - held);
  // Claim in batches too: when a quarter of the slots are free, or all.
  const int worth_claiming = std::max(1, llmeval::pg::setting_max_inflight / 4);
  if (room > 0 && (room >= worth_claiming || held == 0) && (woken || now >= next_claim_ms_)) {
    const int claimed = Claim(room);
    // A full batch suggests more is waiting; otherwise back to the slow timer.
    next_claim_ms_ = claimed == room ? now : now + kIdleClaimMs;
  }
  DriveBatches(woken);
  SendWaitingBatchRequests();
  StartDueCalls();
  SendTraces();
  if (!tasks_.empty() && now >= next_cancel_check_ms_) {
    next_cancel_check_ms_ = now + kCancelCheckMs;
    DropLostClaims();
  }
}

int64_t Worker::IdleTimeoutMs() const {
  const int64_t now = NowMs();
  int64_t next = std::min({next_claim_ms_, next_lease_check_ms_, next_online_ms_, next_batch_ms_});
  if (!extension_ready_) next = next_extension_check_ms_;
  if (HasDeferred()) next = std::min(next, next_deferred_ms_);
  if (!fold_pending_.empty()) next = std::min(next, next_fold_ms_);
  for (const auto& entry : tasks_)
    if (!entry.second.in_flight && !entry.second.answered) next = std::min(next, entry.second.not_before_ms);
  return std::max<int64_t>(0, next - now);
}

void Worker::Heartbeat(int slot) {
  llmeval::pg::Heartbeat(slot, static_cast<int32_t>(client_.inflight()), completed_, failed_,
                         retried_);
  completed_ = failed_ = retried_ = 0;
}


// The loop, with every C++ object inside this function's scope: it returns
// (destructors run) before the process exits.
void RunWorker(int slot) {
  Worker worker(slot);
  MemoryContext loop_context = PgCall([]() noexcept {
    return AllocSetContextCreate(TopMemoryContext, "pg_llmeval worker loop", ALLOCSET_DEFAULT_SIZES);
  });
  bool woken = true;
  int64_t error_backoff_ms = 0;
  while (!ShutdownRequestPending) {
    PgCall([&]() noexcept { MemoryContextSwitchTo(loop_context); });
    try {
      // Interrupts and settings inside the try: a cancel (pg_cancel_backend)
      // is an error like any other, and the claims are given back.
      PgCall([]() noexcept { CHECK_FOR_INTERRUPTS(); });
      if (ConfigReloadPending) {
        ConfigReloadPending = false;
        PgCall([]() noexcept { ProcessConfigFile(PGC_SIGHUP); });
        worker.ReloadSettings();
      }
      const std::string activity =
          "pg_llmeval worker: " + std::to_string(worker.InFlight()) + " calls in flight";
      PgCall([&]() noexcept { pgstat_report_activity(STATE_RUNNING, activity.c_str()); });
      worker.Step(woken);
      if (worker.HasCalls()) worker.PollCalls();
      error_backoff_ms = 0;
    } catch (const spi::ExtensionGone&) {
      // DROP EXTENSION (or DROP SCHEMA ... CASCADE): its tasks went with it;
      // wait for a CREATE EXTENSION.
      spi::AbortQuietly();
      Log(LOG, "pg_llmeval worker: the extension was dropped; its claims are gone with it");
      worker.ResetAfterError(true);
    } catch (const std::exception& e) {
      spi::AbortQuietly();
      Log(LOG, std::string("pg_llmeval worker: ") + e.what());
      worker.ResetAfterError();
      error_backoff_ms = std::min<int64_t>(std::max<int64_t>(error_backoff_ms * 2, 500), 10000);
    }
    PgCall([&]() noexcept {
      MemoryContextSwitchTo(TopMemoryContext);
      MemoryContextReset(loop_context);
    });
    worker.Heartbeat(slot);
    woken = false;
    // With calls in flight the socket wait in PollCalls paces the loop;
    // otherwise sleep on the latch until woken or the next timer. The latch
    // is reset only when it was seen set, just before the claim it causes:
    // a wake-up that comes after that stays set for the next pass.
    const bool busy = worker.HasCalls();
    const long timeout = error_backoff_ms > 0 ? error_backoff_ms
                         : busy               ? 0
                                              : static_cast<long>(std::min<int64_t>(worker.IdleTimeoutMs(), kIdleClaimMs));
    if (timeout > 0 || !busy) {
      const int rc = PgCall([&]() noexcept {
        pgstat_report_activity(STATE_IDLE, nullptr);
        return WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, timeout,
                         PG_WAIT_EXTENSION);
      });
      woken = (rc & WL_LATCH_SET) != 0;
    } else {
      woken = PgCall([]() noexcept { return MyLatch->is_set; });
    }
    if (woken) PgCall([]() noexcept { ResetLatch(MyLatch); });
  }
  try {
    worker.ReleaseAll();
  } catch (const std::exception& e) {
    spi::AbortQuietly();
    Log(LOG, std::string("pg_llmeval worker: could not release its tasks: ") + e.what());
  }
}

}  // namespace llmeval::pg::worker

extern "C" {

PGDLLEXPORT void llmeval_worker_main(Datum arg);

void llmeval_worker_main(Datum arg) {
  const int slot = DatumGetInt32(arg);
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
  BackgroundWorkerUnblockSignals();
  BackgroundWorkerInitializeConnection(llmeval::pg::setting_database_name, nullptr, 0);
  pgstat_report_appname("pg_llmeval worker");
  SetConfigOption("llmeval.defer_job_counters", "on", PGC_SUSET, PGC_S_SESSION);
  // No lock a tenant can take is waited on without bound: a wait that would
  // last longer fails (55P03), and the results wait in memory instead. (Above
  // deadlock_timeout, 1 s by default: a deadlock between two workers is
  // reported as one, and retried.)
  SetConfigOption("lock_timeout", "2000", PGC_SUSET, PGC_S_SESSION);
  // The claim reads a job's budget in the statement after locking it, to
  // see what the last claim committed: that needs a snapshot per statement,
  // whatever default an operator set.
  SetConfigOption("default_transaction_isolation", "read committed", PGC_SUSET, PGC_S_SESSION);
  llmeval::pg::SetWorkerLatch(slot, MyLatch);
  try {
    llmeval::pg::worker::RunWorker(slot);
  } catch (...) {
    // RunWorker handles errors itself; nothing should get here.
  }
  llmeval::pg::SetWorkerLatch(slot, nullptr);
  // Exit code 1, never 0: the postmaster then starts the worker again after
  // bgw_restart_time, so a worker stopped by pg_terminate_backend comes
  // back (at server shutdown nothing is restarted anyway).
  proc_exit(1);
}
}
