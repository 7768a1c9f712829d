/*  store_sql.h: the SQL of store.c: the schema, one migration per version,
    and every statement the store prepares. Included by store.c only; kept
    apart so that the SQL reads as one piece and store.c as code.          */
#ifndef SATCHEL_STORE_SQL_H
#define SATCHEL_STORE_SQL_H

#include "store.h"

//  Schema version 1. Constraints are there to catch our own bugs cheaply.
//  samples.build_id is NULL for a sample from no build (build_id 0).
//  "commit" is quoted because COMMIT is an SQL keyword.
static const char s_schema_v1[] =
    "CREATE TABLE suites ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE);"
    "CREATE TABLE builds ("
    "  id INTEGER PRIMARY KEY,"
    "  suite_id INTEGER NOT NULL REFERENCES suites (id),"
    "  build_key TEXT NOT NULL,"
    "  node_total INTEGER NOT NULL CHECK (node_total >= 1),"
    "  mode TEXT NOT NULL, \"commit\" TEXT NOT NULL, branch TEXT NOT NULL,"
    "  digest TEXT NOT NULL,"
    "  unit_count INTEGER NOT NULL CHECK (unit_count >= 0),"
    "  created_ms INTEGER NOT NULL,"
    "  finished_ms INTEGER NOT NULL DEFAULT 0,"    //  0 while running
    "  UNIQUE (suite_id, build_key));"
    "CREATE TABLE units ("
    "  build_id INTEGER NOT NULL REFERENCES builds (id),"
    "  idx INTEGER NOT NULL CHECK (idx >= 0),"
    "  name TEXT NOT NULL,"
    "  predicted_ms REAL NOT NULL,"
    "  PRIMARY KEY (build_id, idx)) WITHOUT ROWID;"
    "CREATE TABLE attempts ("
    "  id INTEGER PRIMARY KEY,"
    "  build_id INTEGER NOT NULL REFERENCES builds (id),"
    "  node_index INTEGER NOT NULL CHECK (node_index >= 0),"
    "  attempt TEXT NOT NULL UNIQUE,"
    "  started_ms INTEGER NOT NULL,"
    "  last_req INTEGER NOT NULL DEFAULT 0,"       //  uint64 stored bit for bit
    "  last_reply BLOB);"
    "CREATE INDEX attempts_by_node ON attempts (build_id, node_index);"
    "CREATE TABLE batches ("
    "  id INTEGER PRIMARY KEY,"
    "  build_id INTEGER NOT NULL REFERENCES builds (id),"
    "  node_index INTEGER NOT NULL CHECK (node_index >= 0),"
    "  seq INTEGER NOT NULL CHECK (seq >= 1),"
    "  attempt_id INTEGER NOT NULL REFERENCES attempts (id),"
    "  created_ms INTEGER NOT NULL,"
    "  reported_ms INTEGER, wall_ms INTEGER, exit_code INTEGER);"  //  NULL until reported
    "CREATE INDEX batches_by_node ON batches (build_id, node_index, seq);"
    "CREATE TABLE batch_units ("
    "  batch_id INTEGER NOT NULL REFERENCES batches (id),"
    "  pos INTEGER NOT NULL CHECK (pos >= 0),"
    "  unit_idx INTEGER NOT NULL CHECK (unit_idx >= 0),"
    "  PRIMARY KEY (batch_id, pos)) WITHOUT ROWID;"
    "CREATE TABLE timings ("
    "  suite_id INTEGER NOT NULL REFERENCES suites (id),"
    "  name TEXT NOT NULL,"
    "  estimate_ms REAL NOT NULL,"
    "  samples INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (suite_id, name)) WITHOUT ROWID;"
    "CREATE TABLE samples ("
    "  id INTEGER PRIMARY KEY,"
    "  suite_id INTEGER NOT NULL REFERENCES suites (id),"
    "  build_id INTEGER REFERENCES builds (id),"
    "  name TEXT NOT NULL,"
    "  duration_ms REAL NOT NULL CHECK (duration_ms >= 0),"   //  NaN binds as NULL
    "  ok INTEGER NOT NULL CHECK (ok IN (0, 1)),"
    "  at_ms INTEGER NOT NULL);"
    "CREATE INDEX samples_by_name ON samples (suite_id, name);";

//  Schema version 2: leases, replays, retries and results. A batch's state
//  says who owns its units (STORE_BATCH_*); its lease number fences late
//  reports; kind and origin say where its units came from. Batches of a
//  version 1 database are running or done, and their ids serve as leases.
static const char s_schema_v2[] =
    "ALTER TABLE builds ADD COLUMN fail_fast INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE builds ADD COLUMN result TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE attempts ADD COLUMN only_failed INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE attempts ADD COLUMN no_wait INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE attempts ADD COLUMN stopped INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE batches ADD COLUMN state INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE batches ADD COLUMN lease INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE batches ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE batches ADD COLUMN origin INTEGER NOT NULL DEFAULT 0;"
    "UPDATE batches SET state = 1 WHERE reported_ms IS NOT NULL;"
    "UPDATE batches SET lease = id;"
    "CREATE TABLE build_nodes ("
    "  build_id INTEGER NOT NULL REFERENCES builds (id),"
    "  node_index INTEGER NOT NULL CHECK (node_index >= 0),"
    "  units INTEGER NOT NULL, busy_ms INTEGER NOT NULL,"
    "  idle_ms INTEGER NOT NULL, finish_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (build_id, node_index)) WITHOUT ROWID;";

//  Schema version 3: regular mode. A unit's split_node is its node in the
//  build's static split (-1 in a queue build); an earlier build of the
//  same commit is found by the new index when its split is reused.
static const char s_schema_v3[] =
    "ALTER TABLE units ADD COLUMN split_node INTEGER NOT NULL DEFAULT -1;"
    "CREATE INDEX builds_by_commit ON builds (suite_id, \"commit\", node_total);";

//  Schema version 4: timings from test reports and split files.
//  - suites learn the runner's start-up cost (startup_ms, a smoothed
//    estimate over startup_samples batches; NULL until the first);
//  - a batch keeps its runner starts (runs), and when a report measured
//    every unit the sum of their times beside its wall time (tests_ms,
//    else NULL);
//  - a batch unit's own result from the report (ok, NULL: by exit code);
//  - a unit or timing that is an example of a split file names the file
//    (parent, NULL for a file);
//  - a build counts its units with history (known) and its examples.
static const char s_schema_v4[] =
    "ALTER TABLE suites ADD COLUMN startup_ms REAL;"
    "ALTER TABLE suites ADD COLUMN startup_samples INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE batches ADD COLUMN tests_ms INTEGER;"
    "ALTER TABLE batches ADD COLUMN runs INTEGER NOT NULL DEFAULT 1;"
    "ALTER TABLE batch_units ADD COLUMN ok INTEGER CHECK (ok IN (0, 1));"
    "ALTER TABLE units ADD COLUMN parent TEXT;"
    "ALTER TABLE timings ADD COLUMN parent TEXT;"
    "ALTER TABLE builds ADD COLUMN known INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE builds ADD COLUMN examples INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX timings_by_parent ON timings (suite_id, parent) WHERE parent IS NOT NULL;";

//  Schema version 5: retention (coordinator/retention.c). A build being
//  pruned is marked (pruned = 1) and renamed out of its key's way; its rows
//  then go in small steps, and no lookup sees it meanwhile. Samples are
//  found by build to detach them from a pruned build, finished builds by
//  age.
static const char s_schema_v5[] =
    "ALTER TABLE builds ADD COLUMN pruned INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX samples_by_build ON samples (build_id) WHERE build_id IS NOT NULL;"
    "CREATE INDEX builds_by_finish ON builds (finished_ms);"
    "CREATE INDEX builds_pruning ON builds (id) WHERE pruned = 1;";

//  Schema version 6: nodes that ran their share split by name, as their
//  agents said afterwards (a fallback request), by the build key they had:
//  the build may not exist (it was one too many for --max-builds).
static const char s_schema_v6[] =
    "CREATE TABLE fallbacks ("
    "  id INTEGER PRIMARY KEY,"
    "  suite_id INTEGER NOT NULL REFERENCES suites (id),"
    "  build_key TEXT NOT NULL,"
    "  node_index INTEGER NOT NULL CHECK (node_index >= 0),"
    "  node_total INTEGER NOT NULL CHECK (node_total >= 1),"
    "  units INTEGER NOT NULL CHECK (units >= 0),"
    "  at_ms INTEGER NOT NULL);"
    "CREATE INDEX fallbacks_by_build ON fallbacks (suite_id, build_key);";

//  Schema version 7, for fewer writes per batch request:
//  - batches are found by build only. Every query on them names one build
//    (and sorts the few it needs by node); an index by (build, node, seq)
//    put each commit's new batches on as many of its pages as nodes asked,
//    half of what a batch request wrote to the WAL. By build alone (the
//    rowid after it), new batches append to one page;
//  - a batch made for a request keeps that request's number (req, uint64
//    bit for bit; 0: none), so the reply to it can be made again after a
//    restart without the attempt's row being rewritten for every batch.
static const char s_schema_v7[] =
    "DROP INDEX batches_by_node;"
    "CREATE INDEX batches_by_build ON batches (build_id);"
    "ALTER TABLE batches ADD COLUMN req INTEGER NOT NULL DEFAULT 0;";

//  Schema version 8: machines. An attempt says which machine it runs on
//  (NULL: not said), and a suite learns each machine's pace from the
//  builds it finished (relative to the other machines of each build, a
//  smoothed estimate resting on about samples units) and how far a
//  build's strays from it (spread, relative, smoothed), so a node on a
//  known machine is planned at its pace from its first batch on.
static const char s_schema_v8[] =
    "ALTER TABLE attempts ADD COLUMN machine TEXT;"
    "CREATE TABLE machines ("
    "  suite_id INTEGER NOT NULL REFERENCES suites (id),"
    "  machine TEXT NOT NULL,"
    "  pace REAL NOT NULL CHECK (pace > 0),"
    "  samples REAL NOT NULL CHECK (samples >= 0),"
    "  spread REAL NOT NULL CHECK (spread >= 0),"
    "  builds INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (suite_id, machine)) WITHOUT ROWID;";

//  Schema version 9: a sample keeps the pace of the machine that ran it
//  (1: none known), while duration_ms stays the time it took there. The
//  unit's estimate learns duration_ms / pace: its time on a machine of
//  the farm's median pace.
static const char s_schema_v9[] =
    "ALTER TABLE samples ADD COLUMN pace REAL NOT NULL DEFAULT 1 CHECK (pace > 0);";

//  s_migrations[v] takes a database from user_version v to v + 1.
static const char *const s_migrations[] = { s_schema_v1, s_schema_v2, s_schema_v3, s_schema_v4,
                                                s_schema_v5, s_schema_v6, s_schema_v7,
                                                s_schema_v8, s_schema_v9 };
_Static_assert (sizeof s_migrations / sizeof s_migrations[0] == STORE_SCHEMA_VERSION,
                "one migration per schema version");

typedef enum {
    STMT_BEGIN, STMT_COMMIT, STMT_ROLLBACK,
    STMT_SUITE_FIND, STMT_SUITE_INSERT, STMT_SUITE_COUNTS,
    STMT_ESTIMATE, STMT_SAMPLE_INSERT, STMT_TIMING_UPSERT,
    STMT_BUILD_FIND, STMT_BUILD_GET, STMT_BUILD_INSERT, STMT_BUILD_FINISH,
    STMT_UNIT_INSERT, STMT_UNITS_LOAD,
    STMT_ATTEMPT_INSERT, STMT_ATTEMPT_FIND, STMT_ATTEMPT_SAVE,
    STMT_BATCH_INSERT, STMT_BATCH_UNIT_INSERT, STMT_BATCH_REPORT, STMT_BATCHES_LOAD,
    STMT_BATCH_STATE, STMT_ATTEMPT_STOP, STMT_NODE_SUMMARY, STMT_SPLIT_FIND,
    STMT_BATCH_UNIT_OK, STMT_STARTUP_GET, STMT_STARTUP_LEARN,
    STMT_EXAMPLES_SUM, STMT_HAS_EXAMPLES, STMT_SUITE_MEDIAN, STMT_FILE_SUMS,
    STMT_UNIT_PARENT, STMT_UNIT_PARENTS_LOAD, STMT_MACHINE_GET, STMT_MACHINE_LEARN,
    STMT_ATTEMPT_MACHINES, STMT_SAMPLE_UNPACED, STMT_SAMPLE_REPACE, STMT_TIMING_REPACE,
    STMT_COUNT
} stmt_id_t;

#define BUILD_COLUMNS "id, suite_id, build_key, node_total, mode, \"commit\", branch," \
                      " digest, unit_count, created_ms, finished_ms, fail_fast, result," \
                      " (SELECT name FROM suites WHERE suites.id = builds.suite_id)," \
                      " known, examples"

static const char *const s_sql[STMT_COUNT] = {
    [STMT_BEGIN] = "BEGIN IMMEDIATE",
    [STMT_COMMIT] = "COMMIT",
    [STMT_ROLLBACK] = "ROLLBACK",
    [STMT_SUITE_FIND] = "SELECT id FROM suites WHERE name = ?1",
    [STMT_SUITE_INSERT] = "INSERT INTO suites (name) VALUES (?1)",
    [STMT_SUITE_COUNTS] = "SELECT (SELECT count(*) FROM timings WHERE suite_id = ?1),"
                          " (SELECT count(*) FROM samples WHERE suite_id = ?1)",
    [STMT_ESTIMATE] = "SELECT estimate_ms FROM timings WHERE suite_id = ?1 AND name = ?2",
    [STMT_SAMPLE_INSERT] =
        "INSERT INTO samples (suite_id, build_id, name, duration_ms, ok, at_ms, pace)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    //  In DO UPDATE a bare column is the stored row, excluded.x the new one.
    [STMT_TIMING_UPSERT] =
        "INSERT INTO timings (suite_id, name, estimate_ms, samples, updated_ms, parent)"
        " VALUES (?1, ?2, ?3, 1, ?5, ?6) ON CONFLICT (suite_id, name) DO UPDATE SET"
        " estimate_ms = estimate_ms + ?4 * (excluded.estimate_ms - estimate_ms),"
        " samples = samples + 1, updated_ms = excluded.updated_ms,"
        " parent = coalesce (excluded.parent, parent)",
    //  A build's samples of a unit that no machine's pace was known for
    //  (pace 1): two at most, since only one is re-paced. By name: by
    //  build, the planner's choice, would read all the build's samples
    //  for each unit.
    [STMT_SAMPLE_UNPACED] =
        "SELECT id, duration_ms FROM samples INDEXED BY samples_by_name"
        " WHERE suite_id = ?1 AND name = ?2 AND build_id = ?3 AND pace = 1 LIMIT 2",
    [STMT_SAMPLE_REPACE] = "UPDATE samples SET pace = ?2 WHERE id = ?1",
    //  The step the sample made, made again with its pace: alpha of the
    //  difference, all of it if the sample was the unit's first.
    [STMT_TIMING_REPACE] =
        "UPDATE timings SET estimate_ms = estimate_ms"
        " + (CASE WHEN samples = 1 THEN 1.0 ELSE ?3 END) * ?4"
        " WHERE suite_id = ?1 AND name = ?2",
    [STMT_BUILD_FIND] =
        "SELECT " BUILD_COLUMNS " FROM builds WHERE suite_id = ?1 AND build_key = ?2",
    [STMT_BUILD_GET] = "SELECT " BUILD_COLUMNS " FROM builds WHERE id = ?1 AND pruned = 0",
    [STMT_BUILD_INSERT] =
        "INSERT INTO builds (suite_id, build_key, node_total, mode, \"commit\", branch,"
        " digest, unit_count, created_ms, finished_ms, fail_fast, known, examples)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    [STMT_BUILD_FINISH] = "UPDATE builds SET finished_ms = ?2, result = ?3 WHERE id = ?1",
    [STMT_UNIT_INSERT] =
        "INSERT INTO units (build_id, idx, name, predicted_ms, split_node, parent)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [STMT_UNITS_LOAD] =
        "SELECT idx, name, predicted_ms, split_node, parent FROM units WHERE build_id = ?1"
        " ORDER BY idx",
    [STMT_ATTEMPT_INSERT] =
        "INSERT INTO attempts (build_id, node_index, attempt, started_ms, only_failed, no_wait,"
        " machine) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [STMT_ATTEMPT_FIND] =
        "SELECT id, build_id, node_index, last_req, last_reply, only_failed, no_wait, stopped,"
        " machine FROM attempts WHERE attempt = ?1",
    [STMT_ATTEMPT_SAVE] = "UPDATE attempts SET last_req = ?2, last_reply = ?3 WHERE id = ?1",
    [STMT_BATCH_INSERT] =
        "INSERT INTO batches (build_id, node_index, seq, attempt_id, created_ms,"
        " state, lease, kind, origin, req) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [STMT_BATCH_UNIT_INSERT] =
        "INSERT INTO batch_units (batch_id, pos, unit_idx) VALUES (?1, ?2, ?3)",
    [STMT_BATCH_REPORT] =
        "UPDATE batches SET reported_ms = ?2, wall_ms = ?3, exit_code = ?4, state = ?5,"
        " tests_ms = ?6, runs = ?7 WHERE id = ?1",
    //  One pass over a build's batches and their units; LEFT JOIN keeps a
    //  batch without units.
    [STMT_BATCHES_LOAD] =
        "SELECT b.id, b.node_index, b.seq, b.attempt_id, b.reported_ms IS NOT NULL,"
        " b.exit_code, u.unit_idx, b.state, b.lease, b.kind, b.origin,"
        " coalesce (b.wall_ms, 0), coalesce (b.reported_ms, 0), b.created_ms, u.ok, b.req"
        " FROM batches b LEFT JOIN batch_units u ON u.batch_id = b.id"
        " WHERE b.build_id = ?1 ORDER BY b.id, u.pos",
    [STMT_BATCH_STATE] = "UPDATE batches SET state = ?2, lease = ?3 WHERE id = ?1",
    [STMT_ATTEMPT_STOP] = "UPDATE attempts SET stopped = 1 WHERE id = ?1",
    [STMT_NODE_SUMMARY] =
        "INSERT OR REPLACE INTO build_nodes (build_id, node_index, units, busy_ms, idle_ms,"
        " finish_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [STMT_SPLIT_FIND] =
        "SELECT id FROM builds WHERE suite_id = ?1 AND \"commit\" = ?2 AND node_total = ?3"
        " AND branch = ?4 AND digest = ?5 AND mode = 'regular' AND id != ?6 AND pruned = 0"
        " ORDER BY id LIMIT 1",
    [STMT_UNIT_PARENT] = "UPDATE units SET parent = ?3 WHERE build_id = ?1 AND idx = ?2",
    [STMT_UNIT_PARENTS_LOAD] =
        "SELECT idx, parent FROM units WHERE build_id = ?1 AND parent IS NOT NULL",
    [STMT_BATCH_UNIT_OK] = "UPDATE batch_units SET ok = ?3 WHERE batch_id = ?1 AND pos = ?2",
    [STMT_STARTUP_GET] = "SELECT startup_ms, startup_samples FROM suites WHERE id = ?1",
    [STMT_ATTEMPT_MACHINES] =
        "SELECT id, node_index, machine FROM attempts WHERE build_id = ?1 ORDER BY id",
    [STMT_MACHINE_GET] =
        "SELECT pace, samples, spread, builds FROM machines"
        " WHERE suite_id = ?1 AND machine = ?2",
    //  ?3 the build's pace, ?4 its samples, ?5 alpha, ?6 the samples' cap,
    //  ?8 the first spread, ?9 how far the build's pace may stray by its
    //  units' noise alone. The SET expressions read the row as it was.
    [STMT_MACHINE_LEARN] =
        "INSERT INTO machines (suite_id, machine, pace, samples, spread, builds, updated_ms)"
        " VALUES (?1, ?2, ?3, min (?4, ?6), ?8, 1, ?7)"
        " ON CONFLICT (suite_id, machine) DO UPDATE SET"
        " spread = spread + ?5 * (max (abs (excluded.pace - pace) / pace - ?9, 0) - spread),"
        " pace = pace + ?5 * (excluded.pace - pace),"
        " samples = min (samples + ?4, ?6), builds = builds + 1,"
        " updated_ms = excluded.updated_ms",
    [STMT_STARTUP_LEARN] =
        "UPDATE suites SET startup_ms = CASE WHEN startup_ms IS NULL THEN ?2"
        " ELSE startup_ms + ?3 * (?2 - startup_ms) END,"
        " startup_samples = startup_samples + 1 WHERE id = ?1",
    //  A file's examples seen within a week of the latest of them: an
    //  example deleted from the suite stops being updated and drops out.
    //  INDEXED BY: without statistics the planner would rather scan the
    //  suite's primary-key range per name, for every name of a join.
    [STMT_EXAMPLES_SUM] =
        "SELECT sum (estimate_ms), count (*) FROM timings INDEXED BY timings_by_parent"
        " WHERE suite_id = ?1 AND parent = ?2"
        " AND updated_ms >= (SELECT max (updated_ms) FROM timings INDEXED BY timings_by_parent"
        " WHERE suite_id = ?1 AND parent = ?2) - 604800000",
    [STMT_HAS_EXAMPLES] =
        "SELECT 1 FROM timings WHERE suite_id = ?1 AND parent IS NOT NULL LIMIT 1",
    //  The middle estimate of an odd count, the mean of the middle two of
    //  an even one (as the scheduler's medians); NULL when there is none.
    [STMT_SUITE_MEDIAN] =
        "SELECT avg (estimate_ms) FROM (SELECT estimate_ms FROM timings"
        " WHERE suite_id = ?1 AND parent IS NULL ORDER BY estimate_ms"
        " LIMIT 2 - (SELECT count (*) FROM timings WHERE suite_id = ?1 AND parent IS NULL) % 2"
        " OFFSET ((SELECT count (*) FROM timings WHERE suite_id = ?1 AND parent IS NULL) - 1) / 2)",
    //  Per split file of a build whose every example has a sample in it:
    //  the sum of each example's latest sample, the file's own time, as
    //  measured and on a machine of the median pace (as its examples'
    //  estimates learn them).
    [STMT_FILE_SUMS] =
        "SELECT u.parent, sum ((SELECT s.duration_ms / s.pace FROM samples s"
        "   WHERE s.suite_id = ?2 AND s.name = u.name AND s.build_id = ?1"
        "   ORDER BY s.id DESC LIMIT 1)), count (*),"
        " count ((SELECT 1 FROM samples s WHERE s.suite_id = ?2 AND s.name = u.name"
        "   AND s.build_id = ?1)),"
        " sum ((SELECT s.duration_ms FROM samples s"
        "   WHERE s.suite_id = ?2 AND s.name = u.name AND s.build_id = ?1"
        "   ORDER BY s.id DESC LIMIT 1))"
        " FROM units u WHERE u.build_id = ?1 AND u.parent IS NOT NULL GROUP BY u.parent",
};

#endif
