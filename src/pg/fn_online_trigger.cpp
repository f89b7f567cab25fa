// llmeval._online_enqueue(): the statement-level AFTER INSERT trigger that
// online rules put on their source tables (src/sql/83_online.sql).
//
// It runs inside the application's insert, so it must cost next to nothing
// and never fail it:
// - the rule's sampling parameters are read once per backend and cached (a
//   rule's key column, seed and rate never change; a dropped rule takes its
//   trigger with it, so a stale entry is never used), and so are the catalog
//   facts a statement needs (the key's attribute number and output function,
//   the queue's relation): a relcache invalidation of the tables involved
//   drops them, so a statement does no catalog lookup at all;
// - the transition table is read directly, each key hashed as
//   llmeval.online_sampled does (hashtextextended of the key's text), so a
//   statement whose rows are not sampled runs no SQL at all;
// - only sampled keys are written, by plain heap inserts into
//   llmeval.online_pending (a table without index); the rule's lookup (once
//   per backend) runs in a subtransaction, and an error there becomes a
//   warning: the application's statement goes on.
// The rule lookup and the insert run as the owner of llmeval.online_items
// (the extension's owner): the application's role may neither read rules
// nor write the queue.
#include "pg/guard.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "common/hashfn.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/resowner.h"
}

namespace {

// What a statement of one source table needs to sample it: looked up at the
// first statement after a relcache invalidation of that table.
struct SourceColumns {
  Oid relid;  // InvalidOid: not looked up yet
  AttrNumber key_attnum;
  AttrNumber output_attnum;
  Oid key_type;
  Oid key_output_fn;
};

struct RuleEntry {
  int64 rule_id;  // hash key
  bool valid;
  int64 seed;
  double rate;
  char key_column[NAMEDATALEN];
  char output_column[NAMEDATALEN];
  SourceColumns source;
};

HTAB* rule_cache = nullptr;
SPIPlanPtr lookup_plan = nullptr;
Oid items_owner = InvalidOid;
// The llmeval.online_rules the cache was filled from: the extension dropped
// and created again (rule ids start over) empties it.
Oid cached_rules_relid = InvalidOid;
// llmeval.online_pending, the queue the keys go to.
Oid pending_relid = InvalidOid;
// Set by a relcache invalidation of the extension's tables (or of all
// relations): the next statement checks the extension is the one cached.
bool recheck_extension = true;
bool invalidation_registered = false;

void OnRelcacheInvalidation(Datum, Oid relid) {
  if (relid == InvalidOid || relid == cached_rules_relid || relid == pending_relid) recheck_extension = true;
  if (rule_cache == nullptr) return;
  HASH_SEQ_STATUS scan;
  hash_seq_init(&scan, rule_cache);
  while (auto* entry = static_cast<RuleEntry*>(hash_seq_search(&scan)))
    if (relid == InvalidOid || relid == entry->source.relid) entry->source.relid = InvalidOid;
}

void ForgetRulesIfRecreated() {
  if (!invalidation_registered) {
    CacheRegisterRelcacheCallback(OnRelcacheInvalidation, PointerGetDatum(nullptr));
    invalidation_registered = true;
  }
  if (!recheck_extension) return;
  const Oid schema = get_namespace_oid("llmeval", false);
  const Oid rules = get_relname_relid("online_rules", schema);
  pending_relid = get_relname_relid("online_pending", schema);
  if (!OidIsValid(pending_relid)) elog(ERROR, "llmeval.online_pending does not exist");
  recheck_extension = false;
  if (rules == cached_rules_relid) return;
  if (rule_cache != nullptr) hash_destroy(rule_cache);
  rule_cache = nullptr;
  if (lookup_plan != nullptr) SPI_freeplan(lookup_plan);
  lookup_plan = nullptr;
  items_owner = InvalidOid;
  cached_rules_relid = rules;
}

// The rule's columns in the trigger's table, from the cache when no
// invalidation of the table came since. false: the key column is gone.
bool ResolveColumns(RuleEntry& rule, Relation source) {
  SourceColumns& cached = rule.source;
  if (cached.relid != RelationGetRelid(source)) {
    const Oid relid = RelationGetRelid(source);
    cached.key_attnum = get_attnum(relid, rule.key_column);
    cached.output_attnum = get_attnum(relid, rule.output_column);
    if (cached.key_attnum == InvalidAttrNumber) return false;
    cached.key_type = TupleDescAttr(RelationGetDescr(source), cached.key_attnum - 1)->atttypid;
    bool is_varlena;
    getTypeOutputInfo(cached.key_type, &cached.key_output_fn, &is_varlena);
    cached.relid = relid;
  }
  return true;
}

// The owner of llmeval.online_items, as whom rules are read and items written.
Oid ItemsOwner() {
  Oid& owner = items_owner;
  if (!OidIsValid(owner)) {
    const Oid items = get_relname_relid("online_items", get_namespace_oid("llmeval", false));
    if (!OidIsValid(items)) elog(ERROR, "llmeval.online_items does not exist");
    HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(items));
    if (!HeapTupleIsValid(tuple)) elog(ERROR, "cache lookup failed for relation %u", items);
    owner = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relowner;
    ReleaseSysCache(tuple);
  }
  return owner;
}

// The rule's sampling parameters, from the cache or llmeval.online_rules
// (as the items' owner, inside SPI). valid is false for a rule that no
// longer exists.
RuleEntry* LookupRule(int64 rule_id) {
  if (rule_cache == nullptr) {
    HASHCTL ctl;
    ctl.keysize = sizeof(int64);
    ctl.entrysize = sizeof(RuleEntry);
    ctl.hcxt = TopMemoryContext;
    rule_cache = hash_create("pg_llmeval online rules", 16, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
  }
  bool found = false;
  auto* entry = static_cast<RuleEntry*>(hash_search(rule_cache, &rule_id, HASH_FIND, &found));
  if (found) return entry;

  if (lookup_plan == nullptr) {
    Oid types[1] = {INT8OID};
    SPIPlanPtr plan = SPI_prepare(
        // (a session-scoped rule samples, and queues, its sessions)
        "SELECT r.seed, r.sampling_rate, "
        "CASE WHEN r.options ? 'idle_seconds' THEN r.columns ->> 'session' ELSE r.columns ->> 'key' END, "
        "r.columns ->> 'output' FROM llmeval.online_rules r "
        "WHERE r.id = $1", 1, types);
    if (plan == nullptr) elog(ERROR, "could not prepare the online rule lookup");
    SPI_keepplan(plan);
    lookup_plan = plan;
  }
  Datum args[1] = {Int64GetDatum(rule_id)};
  if (SPI_execute_plan(lookup_plan, args, nullptr, true, 1) != SPI_OK_SELECT)
    elog(ERROR, "the online rule lookup failed");
  RuleEntry fetched{};
  fetched.rule_id = rule_id;
  if (SPI_processed == 1) {
    bool isnull[4];
    HeapTuple row = SPI_tuptable->vals[0];
    TupleDesc desc = SPI_tuptable->tupdesc;
    Datum seed = SPI_getbinval(row, desc, 1, &isnull[0]);
    Datum rate = SPI_getbinval(row, desc, 2, &isnull[1]);
    Datum key = SPI_getbinval(row, desc, 3, &isnull[2]);
    Datum output = SPI_getbinval(row, desc, 4, &isnull[3]);
    if (!isnull[0] && !isnull[1] && !isnull[2] && !isnull[3]) {
      fetched.valid = true;
      fetched.seed = DatumGetInt64(seed);
      fetched.rate = DatumGetFloat8(rate);
      strlcpy(fetched.key_column, TextDatumGetCString(key), sizeof(fetched.key_column));
      strlcpy(fetched.output_column, TextDatumGetCString(output), sizeof(fetched.output_column));
    }
  }
  // A missing rule is not cached: it may be one being created in this
  // transaction, not yet visible to the rule's first insert.
  if (!fetched.valid) {
    static RuleEntry missing;
    missing = fetched;
    return &missing;
  }
  entry = static_cast<RuleEntry*>(hash_search(rule_cache, &rule_id, HASH_ENTER, &found));
  *entry = fetched;
  return entry;
}

// Whether the key's text is in the sample: llmeval.online_sampled in C.
bool Sampled(const char* key, int length, double rate, int64 seed) {
  if (rate >= 1) return true;
  if (rate <= 0) return false;
  const uint64 hash = DatumGetUInt64(hash_any_extended(reinterpret_cast<const unsigned char*>(key),
                                                       length, static_cast<uint64>(seed)));
  return static_cast<double>(hash & UINT64CONST(9007199254740991)) / 9007199254740992.0 < rate;
}

// The sampled keys of the inserted rows, as a text[] (NULL when none).
// For an update (skip_null_output), rows whose output is still NULL are
// passed over: they have nothing to score yet.
ArrayType* SampledKeys(TriggerData* trigger, const RuleEntry& rule, bool skip_null_output) {
  Tuplestorestate* rows = trigger->tg_newtable;
  TupleDesc desc = RelationGetDescr(trigger->tg_relation);
  const AttrNumber key_attnum = rule.source.key_attnum;
  const AttrNumber output_attnum = skip_null_output ? rule.source.output_attnum : InvalidAttrNumber;
  const Oid key_type = rule.source.key_type;
  // Its own read pointer, as a scan of the transition table in SQL takes:
  // other triggers of the statement read the same store.
  const int reader = tuplestore_alloc_read_pointer(rows, EXEC_FLAG_REWIND);
  tuplestore_select_read_pointer(rows, reader);
  tuplestore_rescan(rows);
  TupleTableSlot* slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
  ArrayBuildState* keys = nullptr;
  while (tuplestore_gettupleslot(rows, true, false, slot)) {
    bool isnull = false;
    if (output_attnum != InvalidAttrNumber) {
      (void)slot_getattr(slot, output_attnum, &isnull);
      if (isnull) continue;
    }
    const Datum value = slot_getattr(slot, key_attnum, &isnull);
    if (isnull) continue;
    // The key's text as ::text gives it; integers and text without a
    // palloc per row.
    char digits[MAXINT8LEN + 1];
    const char* key_text;
    int length;
    text* detoasted = nullptr;
    switch (key_type) {
      case INT8OID:
        length = pg_lltoa(DatumGetInt64(value), digits);
        key_text = digits;
        break;
      case INT4OID:
        length = pg_ltoa(DatumGetInt32(value), digits);
        key_text = digits;
        break;
      case TEXTOID:
      case VARCHAROID:
        detoasted = DatumGetTextPP(value);
        key_text = VARDATA_ANY(detoasted);
        length = VARSIZE_ANY_EXHDR(detoasted);
        break;
      default:
        key_text = OidOutputFunctionCall(rule.source.key_output_fn, value);
        length = static_cast<int>(strlen(key_text));
    }
    if (Sampled(key_text, length, rule.rate, rule.seed))
      keys = accumArrayResult(keys, PointerGetDatum(cstring_to_text_with_len(key_text, length)), false,
                              TEXTOID, CurrentMemoryContext);
  }
  ExecDropSingleTupleTableSlot(slot);
  if (keys == nullptr) return nullptr;
  return DatumGetArrayTypeP(makeArrayResult(keys, CurrentMemoryContext));
}

// Appends to llmeval.online_pending: the keys' heap tuples and nothing
// else. The table has no index, constraint but NOT NULL, trigger or
// default that matters here (enqueued_at is the transaction's start, as
// now() would give), so the executor's work for an INSERT statement would
// all be overhead inside the application's insert.
void InsertPending(int64 rule_id, ArrayType* keys) {
  Relation rel = table_open(pending_relid, RowExclusiveLock);
  TupleDesc desc = RelationGetDescr(rel);
  if (desc->natts != 3) elog(ERROR, "llmeval.online_pending does not have the expected columns");
  Datum* elements;
  bool* nulls;
  int count;
  deconstruct_array(keys, TEXTOID, -1, false, TYPALIGN_INT, &elements, &nulls, &count);
  // One multi-insert, as COPY does: one WAL record per page, not per key.
  auto** slots = static_cast<TupleTableSlot**>(palloc(sizeof(TupleTableSlot*) * count));
  const Datum enqueued_at = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
  for (int i = 0; i < count; ++i) {
    slots[i] = table_slot_create(rel, nullptr);
    ExecClearTuple(slots[i]);
    slots[i]->tts_values[0] = Int64GetDatum(rule_id);
    slots[i]->tts_values[1] = elements[i];
    slots[i]->tts_values[2] = enqueued_at;
    memset(slots[i]->tts_isnull, 0, sizeof(bool) * 3);
    ExecStoreVirtualTuple(slots[i]);
  }
  table_multi_insert(rel, slots, count, GetCurrentCommandId(true), 0, nullptr);
  for (int i = 0; i < count; ++i) ExecDropSingleTupleTableSlot(slots[i]);
  table_close(rel, NoLock);
}

// The trigger's work, in a subtransaction, as the items' owner. An error is
// reported as a warning: the application's statement must not fail.
void Enqueue(TriggerData* trigger, int64 rule_id) {
  MemoryContext caller_context = CurrentMemoryContext;
  ResourceOwner caller_owner = CurrentResourceOwner;
  Oid saved_user;
  int saved_context;
  GetUserIdAndSecContext(&saved_user, &saved_context);
  volatile bool in_subtransaction = false;
  volatile bool connected = false;
  PG_TRY();
  {
    ForgetRulesIfRecreated();
    SetUserIdAndSecContext(ItemsOwner(), saved_context | SECURITY_LOCAL_USERID_CHANGE);
    // The common case costs no subtransaction: a cached rule, no key sampled.
    RuleEntry* rule = rule_cache == nullptr ? nullptr
        : static_cast<RuleEntry*>(hash_search(rule_cache, &rule_id, HASH_FIND, nullptr));
    if (rule == nullptr) {
      BeginInternalSubTransaction(nullptr);
      in_subtransaction = true;
      MemoryContextSwitchTo(caller_context);
      if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
      connected = true;
      rule = LookupRule(rule_id);
    }
    if (rule->valid && rule->rate > 0) {
      // (a renamed key column: the rule cannot sample, the insert goes on)
      ArrayType* keys = nullptr;
      if (!ResolveColumns(*rule, trigger->tg_relation))
        ereport(WARNING, (errmsg("pg_llmeval: online rule %lld did not sample this statement's rows: "
                                 "its key column \"%s\" no longer exists",
                                 static_cast<long long>(rule_id), rule->key_column)));
      else
        keys = SampledKeys(trigger, *rule, TRIGGER_FIRED_BY_UPDATE(trigger->tg_event));
      // Plain heap inserts, with no subtransaction of their own (one would
      // give the application's transaction a subtransaction id to commit):
      // what could make them fail (a full disk, a lost connection) fails
      // the application's own insert as well.
      if (keys != nullptr) InsertPending(rule_id, keys);
    }
    if (connected) SPI_finish();
    if (in_subtransaction) {
      ReleaseCurrentSubTransaction();
      MemoryContextSwitchTo(caller_context);
      CurrentResourceOwner = caller_owner;
    }
    SetUserIdAndSecContext(saved_user, saved_context);
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(caller_context);
    ErrorData* error = CopyErrorData();
    FlushErrorState();
    if (in_subtransaction) {
      RollbackAndReleaseCurrentSubTransaction();
      MemoryContextSwitchTo(caller_context);
      CurrentResourceOwner = caller_owner;
    } else {
      // An error outside a subtransaction (the sampling itself) cannot be
      // recovered from here.
      SetUserIdAndSecContext(saved_user, saved_context);
      ReThrowError(error);
    }
    SetUserIdAndSecContext(saved_user, saved_context);
    ereport(WARNING, (errmsg("pg_llmeval: online rule %lld did not sample this statement's rows: %s",
                             static_cast<long long>(rule_id), error->message)));
    FreeErrorData(error);
  }
  PG_END_TRY();
}

}  // namespace

LLMEVAL_PG_FUNCTION(llmeval_online_enqueue) {
  return llmeval::pg::PgCall([&]() noexcept -> Datum {
    if (!CALLED_AS_TRIGGER(fcinfo))
      ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                      errmsg("llmeval._online_enqueue() is a trigger function")));
    auto* trigger = reinterpret_cast<TriggerData*>(fcinfo->context);
    if (!TRIGGER_FIRED_FOR_STATEMENT(trigger->tg_event) || !TRIGGER_FIRED_AFTER(trigger->tg_event) ||
        trigger->tg_trigger->tgnargs != 1 || trigger->tg_newtable == nullptr)
      ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                      errmsg("llmeval._online_enqueue() must be an AFTER ... FOR EACH STATEMENT trigger "
                             "with a NEW TABLE and the rule's id")));
    const int64 rule_id = pg_strtoint64(trigger->tg_trigger->tgargs[0]);
    Enqueue(trigger, rule_id);
    return PointerGetDatum(nullptr);
  });
}
