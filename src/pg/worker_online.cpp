// Online rules: the rows their triggers sampled are read (as each rule's
// owner) and queued for scoring in a short transaction of their own, about
// once a second. The SQL side (llmeval._online_ingest, src/sql/83_online.sql)
// passes over items another worker holds, so workers never read a row twice.
#include "pg/worker.hpp"

namespace llmeval::pg::worker {

void Worker::IngestOnlineRows() {
  spi::InTransaction([&] {
    static spi::Statement ingest("SELECT llmeval._online_ingest($1)", {INT4OID});
    ingest.Execute({Int32GetDatum(kOnlineIngestRows)});
    // the rules' jobs gained tasks: their counters, as after any write-back
    FoldJobCounters(spi::Int64Array(0, 1));
  });
}

}  // namespace llmeval::pg::worker
