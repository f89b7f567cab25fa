# pg_llmeval: PGXS build of the extension, plus the project's entry points:
#   make demo    install dependencies, build, run a real evaluation (workers and the
#                bundled mock provider) on a throwaway cluster
#   make test    the whole suite (unit tests plain and under ASan/UBSan, fuzzers,
#                pg_regress, pgTAP and the integration tests against a throwaway cluster)
#   make bench   throughput of the metrics, datasets and the job engine

EXTENSION   = pg_llmeval
EXTVERSION  = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" pg_llmeval.control)
MODULE_big  = pg_llmeval

CORE_SRCS   = $(sort $(shell find src/core -name '*.cpp'))
PG_SRCS     = $(sort $(wildcard src/pg/*.cpp))
OBJS        = $(CORE_SRCS:.cpp=.o) $(PG_SRCS:.cpp=.o)

SQL_SRCS    = $(sort $(wildcard src/sql/[0-9][0-9]_*.sql))
DATA_built  = $(EXTENSION)--$(EXTVERSION).sql
DATA        = $(wildcard src/sql/$(EXTENSION)--*--*.sql)

REGRESS      = $(basename $(notdir $(sort $(wildcard sql/*.sql))))
REGRESS_OPTS = --load-extension=$(EXTENSION)

PG_CONFIG  ?= pg_config
PG_CPPFLAGS = -Isrc -isystem $(shell $(PG_CONFIG) --includedir-server)
PG_CXXFLAGS = -std=c++17 -O2 -Wall -Wextra -Werror -Wshadow -Wno-missing-field-initializers
SHLIB_LINK  = -lstdc++ -licuuc -licui18n -lcurl -lre2
# The core is C++; Postgres' LLVM JIT bitcode for it is of no use.
override with_llvm = no

PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(PGXS),)
include $(PGXS)
else
$(warning pg_config not found: run 'make deps' first)
endif

$(EXTENSION)--$(EXTVERSION).sql: $(SQL_SRCS)
	cat $^ > $@

# Header dependencies of the PGXS build (the core's are tracked by CMake).
$(OBJS): $(shell find src -name '*.hpp')

BUILD_DIR ?= build
HARNESS    = test/harness

.PHONY: deps unit unit-asan fuzz pgtests mock-selftest test bench demo format

deps:
	$(HARNESS)/install_deps.sh

$(BUILD_DIR)/release/Makefile:
	cmake -S . -B $(BUILD_DIR)/release -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

$(BUILD_DIR)/asan/Makefile:
	cmake -S . -B $(BUILD_DIR)/asan -DCMAKE_BUILD_TYPE=Debug -DLLMEVAL_SANITIZE=ON >/dev/null

unit: $(BUILD_DIR)/release/Makefile
	cmake --build $(BUILD_DIR)/release -j2
	cd $(BUILD_DIR)/release && ctest --output-on-failure -j2
	# (the conversation histories we build, posted to the mock, which checks them as the APIs do)
	python3 test/mock_llm/history_check.py $(BUILD_DIR)/release/llmeval_unit_tests

unit-asan: $(BUILD_DIR)/asan/Makefile
	cmake --build $(BUILD_DIR)/asan -j2
	cd $(BUILD_DIR)/asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j2

# libFuzzer targets, each run for FUZZ_SECONDS.
FUZZ_SECONDS ?= 30
fuzz:
	$(HARNESS)/run_fuzzers.sh $(BUILD_DIR)/fuzz $(FUZZ_SECONDS)

# pg_regress and pgTAP suites against a throwaway cluster.
pgtests: all
	$(MAKE) install
	$(HARNESS)/with_cluster.sh $(HARNESS)/run_sql_tests.sh
	LLMEVAL_PRELOAD= $(HARNESS)/with_cluster.sh $(HARNESS)/check_no_preload.sh

# docker/ without a Docker engine: files parse, promtool checks and unit-tests
# the alert rules, the Kubernetes copies match their sources.
.PHONY: deploy-check
deploy-check:
	$(HARNESS)/check_deploy_files.sh

# The mock LLM provider checks itself before the engine tests rely on it.
mock-selftest:
	python3 test/mock_llm/selftest.py

test: deps
	$(MAKE) all
	$(MAKE) mock-selftest
	$(MAKE) unit
	$(MAKE) unit-asan
	$(MAKE) fuzz
	$(MAKE) deploy-check
	$(MAKE) pgtests
	@echo "make test: all suites passed"

bench: deps
	$(MAKE) all
	$(MAKE) install
	cmake -S . -B $(BUILD_DIR)/release -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD_DIR)/release -j2 --target llmeval_bench
	$(BUILD_DIR)/release/llmeval_bench --benchmark_min_time=0.5
	$(HARNESS)/with_cluster.sh test/bench/run_sql_bench.sh
	$(HARNESS)/with_cluster.sh test/bench/run_data_bench.sh
	$(HARNESS)/with_cluster.sh test/bench/run_engine_bench.sh
	LLMEVAL_PRELOAD= $(HARNESS)/with_cluster.sh test/bench/run_online_bench.sh

demo: deps
	$(MAKE) all
	$(MAKE) install
	$(HARNESS)/with_cluster.sh test/demo/run_demo.sh

format:
	clang-format -i $(shell find src test -name '*.cpp' -o -name '*.hpp')

clean: clean-build
clean-build:
	rm -rf $(BUILD_DIR)
