// The extension's entry: module magic and _PG_init.
//
// The metric functions need nothing from _PG_init, so the library works when
// loaded on first use as well as through shared_preload_libraries (where the
// job engine's background workers will be registered).
#include "pg/postgres.hpp"

extern "C" {
#include "utils/guc.h"

PG_MODULE_MAGIC;

void _PG_init(void);

void _PG_init(void) {
  if (IsBinaryUpgrade) return;
  // Settings under llmeval.* are ours: a misspelt one is an error, not a
  // silently ignored placeholder.
  MarkGUCPrefixReserved("llmeval");
}
}
