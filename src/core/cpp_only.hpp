// Included last by every src/core header: the core must build and be unit-tested
// without a Postgres server, so a Postgres header leaking in is a build error.
#pragma once

#ifdef POSTGRES_H
static_assert(false, "src/core must not include Postgres headers");
#endif
