// Shared memory of the job engine (only when the library is preloaded):
// the workers' latches, so that a committed submit wakes them at once, and
// the per-model rate limit buckets that all workers draw from.
#pragma once

#include <cstdint>

#include "pg/postgres.hpp"

namespace llmeval::pg {

inline constexpr int kMaxWorkers = 64;

// Called from _PG_init under shared_preload_libraries.
void InstallEngineSharedMemoryHooks();

// Whether the shared state exists (the library was preloaded).
bool EngineSharedAvailable();

// A worker announces (or withdraws, with nullptr) its latch.
void SetWorkerLatch(int slot, Latch* latch);

// Sets every worker's latch.
void WakeAllWorkers();

// Takes one request and estimated_tokens from the model's buckets (limits
// per minute; 0 = none). Returns 0 when granted, else the milliseconds
// until it could be.
int64_t TryAcquireRate(int32_t model_id, int requests_per_minute, int tokens_per_minute,
                       int64_t estimated_tokens);

// Corrects the token bucket once the real usage is known.
void ChargeTokens(int32_t model_id, int64_t token_delta);

// What each worker last reported about itself (llmeval.worker_status).
struct WorkerHeartbeat {
  int32_t pid;          // 0: the slot is not running
  TimestampTz beat;     // last pass of its loop
  int32_t in_flight;    // calls in flight
  int64_t completed;    // tasks written back as completed since it started
  int64_t failed;       // tasks that failed for good
  int64_t retried;      // calls put back for a retry
};

// A worker's report, once per pass of its loop (counters are added).
void Heartbeat(int slot, int32_t in_flight, int64_t completed, int64_t failed, int64_t retried);

// A copy of every slot's heartbeat; false without shared memory.
bool ReadHeartbeats(WorkerHeartbeat (&out)[kMaxWorkers]);

}  // namespace llmeval::pg
