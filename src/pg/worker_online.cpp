// Online rules: the rows their triggers sampled are read (as each rule's
// owner) and queued for scoring in a short transaction of their own, about
// once a second. The SQL side (llmeval._online_ingest, src/sql/83_online.sql)
// passes over items and rules another worker or a tenant holds, so workers
// never read a row twice nor wait.
#include "pg/worker.hpp"

namespace llmeval::pg::worker {

bool Worker::IngestOnlineRows() {
  bool rules_exist = false;
  try {
    spi::InExtensionTransaction([&] {
      // (and whether any rule exists: a database without one is looked at
      // every ten seconds, not every second)
      static spi::Statement ingest(
          "SELECT llmeval._online_ingest($1), EXISTS (SELECT 1 FROM llmeval.online_rules)", {INT4OID});
      ingest.Execute({Int32GetDatum(kOnlineIngestRows)});
      rules_exist = spi::Bool(0, 2);
      // the rules' jobs gained tasks: their counters, as after any write-back
      FoldJobCounters(spi::Int64Array(0, 1));
    });
  } catch (const PgError& e) {
    // A cancel is the operator's, for the whole worker (it gives its claims
    // back). Anything else that went wrong with online rules is logged and
    // tried again next pass: it must not cost the worker the tasks it holds.
    if (e.sqlerrcode() == ERRCODE_QUERY_CANCELED) throw;
    Log(LOG, std::string("pg_llmeval worker: online rules: ") + e.what());
    return true;
  }
  return rules_exist;
}

}  // namespace llmeval::pg::worker
