#include <algorithm>
#include <cmath>

#include "pg/engine_shared.hpp"


namespace llmeval::pg {

namespace {

// One model's buckets, refilled continuously at the per-minute limit. The
// capacity is ten seconds' allowance (at least one request): a minute's
// worth at once could trip providers that also limit per second, and a
// smaller burst keeps every sliding minute under the limit.
struct RateBucket {
  int32_t model_id;  // 0: free slot
  double requests;
  double tokens;
  TimestampTz updated;
};

constexpr int kMaxBuckets = 256;

struct EngineShared {
  slock_t mutex;
  Latch* latches[kMaxWorkers];
  WorkerHeartbeat heartbeats[kMaxWorkers];
  RateBucket buckets[kMaxBuckets];
};

EngineShared* shared = nullptr;
shmem_request_hook_type previous_request_hook = nullptr;
shmem_startup_hook_type previous_startup_hook = nullptr;

void RequestSharedMemory() {
  if (previous_request_hook) previous_request_hook();
  RequestAddinShmemSpace(MAXALIGN(sizeof(EngineShared)));
}

void StartupSharedMemory() {
  if (previous_startup_hook) previous_startup_hook();
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  bool found = false;
  shared = static_cast<EngineShared*>(ShmemInitStruct("pg_llmeval engine", sizeof(EngineShared), &found));
  if (!found) {
    memset(shared, 0, sizeof(EngineShared));
    SpinLockInit(&shared->mutex);
  }
  LWLockRelease(AddinShmemInitLock);
}

double Capacity(int per_minute) { return std::max(1.0, per_minute / 6.0); }

RateBucket* FindBucket(int32_t model_id, TimestampTz now, int requests_per_minute,
                       int tokens_per_minute) {
  RateBucket* free_slot = nullptr;
  for (RateBucket& b : shared->buckets) {
    if (b.model_id == model_id) return &b;
    if (b.model_id == 0 && free_slot == nullptr) free_slot = &b;
  }
  if (free_slot == nullptr) return nullptr;  // more limited models than slots: not limited
  free_slot->model_id = model_id;
  free_slot->requests = Capacity(requests_per_minute);
  free_slot->tokens = Capacity(tokens_per_minute);
  free_slot->updated = now;
  return free_slot;
}

}  // namespace

void InstallEngineSharedMemoryHooks() {
  previous_request_hook = shmem_request_hook;
  shmem_request_hook = RequestSharedMemory;
  previous_startup_hook = shmem_startup_hook;
  shmem_startup_hook = StartupSharedMemory;
}

bool EngineSharedAvailable() { return shared != nullptr; }

void SetWorkerLatch(int slot, Latch* latch) {
  if (shared == nullptr || slot < 0 || slot >= kMaxWorkers) return;
  SpinLockAcquire(&shared->mutex);
  shared->latches[slot] = latch;
  // A (re)started worker begins a new heartbeat; a stopping one ends it.
  shared->heartbeats[slot] = WorkerHeartbeat{latch != nullptr ? MyProcPid : 0,
                                             GetCurrentTimestamp(), 0, 0, 0, 0};
  SpinLockRelease(&shared->mutex);
}

void Heartbeat(int slot, int32_t in_flight, int64_t completed, int64_t failed, int64_t retried) {
  if (shared == nullptr || slot < 0 || slot >= kMaxWorkers) return;
  const TimestampTz now = GetCurrentTimestamp();
  SpinLockAcquire(&shared->mutex);
  WorkerHeartbeat& h = shared->heartbeats[slot];
  h.beat = now;
  h.in_flight = in_flight;
  h.completed += completed;
  h.failed += failed;
  h.retried += retried;
  SpinLockRelease(&shared->mutex);
}

bool ReadHeartbeats(WorkerHeartbeat (&out)[kMaxWorkers]) {
  if (shared == nullptr) return false;
  SpinLockAcquire(&shared->mutex);
  memcpy(out, shared->heartbeats, sizeof out);
  SpinLockRelease(&shared->mutex);
  return true;
}

void WakeAllWorkers() {
  if (shared == nullptr) return;
  Latch* latches[kMaxWorkers];
  SpinLockAcquire(&shared->mutex);
  memcpy(latches, shared->latches, sizeof latches);
  SpinLockRelease(&shared->mutex);
  // SetLatch outside the spinlock: it may make a system call.
  for (Latch* latch : latches)
    if (latch != nullptr) SetLatch(latch);
}

int64_t TryAcquireRate(int32_t model_id, int requests_per_minute, int tokens_per_minute,
                       int64_t estimated_tokens) {
  if (shared == nullptr || (requests_per_minute <= 0 && tokens_per_minute <= 0)) return 0;
  const TimestampTz now = GetCurrentTimestamp();
  int64_t wait_ms = 0;
  SpinLockAcquire(&shared->mutex);
  RateBucket* b = FindBucket(model_id, now, requests_per_minute, tokens_per_minute);
  if (b != nullptr) {
    const double minutes = static_cast<double>(now - b->updated) / (60.0 * USECS_PER_SEC);
    b->updated = now;
    if (requests_per_minute > 0)
      b->requests = std::min(Capacity(requests_per_minute), b->requests + minutes * requests_per_minute);
    if (tokens_per_minute > 0)
      b->tokens = std::min(Capacity(tokens_per_minute), b->tokens + minutes * tokens_per_minute);
    // A request larger than the bucket still goes through once the bucket is
    // full, or it would wait forever.
    const double token_need =
        tokens_per_minute > 0 ? std::min<double>(estimated_tokens, Capacity(tokens_per_minute)) : 0;
    const bool requests_ok = requests_per_minute <= 0 || b->requests >= 1;
    const bool tokens_ok = tokens_per_minute <= 0 || b->tokens >= token_need;
    if (requests_ok && tokens_ok) {
      if (requests_per_minute > 0) b->requests -= 1;
      if (tokens_per_minute > 0) b->tokens -= estimated_tokens;
    } else {
      double wait_minutes = 0;
      if (!requests_ok) wait_minutes = (1 - b->requests) / requests_per_minute;
      if (!tokens_ok)
        wait_minutes = std::max(wait_minutes, (token_need - b->tokens) / tokens_per_minute);
      wait_ms = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait_minutes * 60000.0)));
    }
  }
  SpinLockRelease(&shared->mutex);
  return wait_ms;
}

void ChargeTokens(int32_t model_id, int64_t token_delta) {
  if (shared == nullptr || token_delta == 0) return;
  SpinLockAcquire(&shared->mutex);
  for (RateBucket& b : shared->buckets) {
    if (b.model_id == model_id) {
      b.tokens -= token_delta;
      break;
    }
  }
  SpinLockRelease(&shared->mutex);
}

}  // namespace llmeval::pg
