# ocspgate: install what is missing (Debian 12, as root), build, run, test.
#   make run        build and run on conf/ocspgate.conf (127.0.0.1:3128)
#   make test       build and run every test, then again under ASan+UBSan
#   make check      the plain build's tests only
#   make test-asan  the ASan+UBSan build's tests only (malloc'd and pooled
#                   memory filled, freed memory too: uninitialised reads
#                   show as garbage)
#   make test-valgrind  integration tests of every request path with the
#                   daemon under Valgrind memcheck
#   make fuzz       run every libFuzzer target for FUZZ_SECONDS each
#   make soak       the soak test for SOAK_SECONDS
#   make format     clang-format the sources
#   make package    a Debian package (.deb) in $(BUILD_PACKAGE)

BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
BUILD_PACKAGE ?= build-package
# The tests' debootstrap base and package build, shared by the plain
# and the sanitizer runs of one `make test` (see tests/integration/
# debian_base.py).
export OCSPGATE_TEST_CACHE ?= $(CURDIR)/build-cache
BUILD_VALGRIND ?= build-valgrind
FUZZ_SECONDS ?= 300
FUZZ_SMOKE_SECONDS ?= 5
SOAK_SECONDS ?= 600
BUILD_TYPE ?= RelWithDebInfo
CONFIG     ?= conf/ocspgate.conf
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)

# Build tools and libraries, then the real peers the tests talk to.
BUILD_PACKAGES := gcc libc6-dev make cmake pkg-config libevent-dev \
	libssl-dev libconfig-dev node-llhttp zlib1g-dev
TEST_PACKAGES  := openssl curl python3 python3-yaml ca-certificates haproxy nftables \
	logrotate gzip nginx man-db groff-base \
	iptables iproute2 \
	debootstrap dpkg-dev systemd podman runc git valgrind
# llvm-14 brings llvm-symbolizer: sanitizer reports with function names.
CLANG_PACKAGES := clang libclang-rt-14-dev clang-format llvm-14
ASAN_SYMBOLIZER_PATH ?= /usr/lib/llvm-14/bin/llvm-symbolizer
export ASAN_SYMBOLIZER_PATH

CTEST_FLAGS ?= --output-on-failure -j$(JOBS)
# ASan fills what malloc() returns (1 MiB of it, not the default 4 KiB)
# and what free() gives back, so a read of memory never written yields
# garbage, not the zeros of a fresh page; pooled buffers get the same
# (pool.c).
ASAN_TEST_OPTIONS ?= detect_leaks=1:abort_on_error=1:malloc_fill_byte=190:max_malloc_fill_size=1048576:free_fill_byte=85:max_free_fill_size=1048576

.PHONY: all deps deps-test build run check test test-asan test-valgrind \
	fuzz-build fuzz fuzz-smoke soak format check-format clean package

all: build

# Installs only the packages that are missing, so a ready machine does
# not touch apt at all.
define apt_install
	@missing=""; \
	for p in $(1); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
		    grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		    --no-install-recommends $$missing; \
	fi
endef

deps:
	$(call apt_install,$(BUILD_PACKAGES))

deps-test: deps
	$(call apt_install,$(TEST_PACKAGES) $(CLANG_PACKAGES))

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

run: build
	$(BUILD)/ocspgate -c $(CONFIG)

check: deps-test build
	cd $(BUILD) && ctest $(CTEST_FLAGS)

test-asan: deps-test
	cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug \
	    -DCMAKE_C_COMPILER=clang \
	    -DOCSPGATE_SANITIZE=address,undefined
	cmake --build $(BUILD_ASAN) -j$(JOBS)
	cd $(BUILD_ASAN) && ASAN_OPTIONS=$(ASAN_TEST_OPTIONS) \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 OCSPGATE_TIME_SCALE=2 \
	    ctest $(CTEST_FLAGS) -LE image

# A release build whose integration tests of every request path also run
# with the daemon under Valgrind memcheck (tests/CMakeLists.txt).
test-valgrind: deps-test
	cmake -S . -B $(BUILD_VALGRIND) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	    -DOCSPGATE_VALGRIND=ON
	cmake --build $(BUILD_VALGRIND) -j$(JOBS) --target ocspgate
	cd $(BUILD_VALGRIND) && ctest $(CTEST_FLAGS) -L valgrind

# libFuzzer builds of the fuzz targets, with ASan and UBSan.
fuzz-build: deps-test
	cmake -S . -B $(BUILD_FUZZ) -DCMAKE_BUILD_TYPE=Debug \
	    -DCMAKE_C_COMPILER=clang -DOCSPGATE_FUZZ=ON \
	    -DOCSPGATE_SANITIZE=address,undefined
	cmake --build $(BUILD_FUZZ) -j$(JOBS)

# Each target for $(1) seconds, from a scratch copy of its corpus (new
# inputs do not pile up in the tree; crashes are written to the build).
define fuzz_run
	@set -e; for bin in $(BUILD_FUZZ)/tests/fuzz_*; do \
		t=$${bin##*/fuzz_}; \
		work=$(BUILD_FUZZ)/corpus/$$t; mkdir -p $$work; \
		cp -n tests/fuzz/corpus/$$t/* $$work/ 2>/dev/null || true; \
		echo "fuzz $$t: $(1) s"; \
		$$bin -max_total_time=$(1) -timeout=10 -rss_limit_mb=2048 \
		    -print_final_stats=1 \
		    -artifact_prefix=$(BUILD_FUZZ)/crash-$$t- $$work \
		    2>&1 | grep -E '^(stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)' || true; \
		if ls $(BUILD_FUZZ)/crash-$$t-* >/dev/null 2>&1; then \
			echo "fuzz $$t: crash, see $(BUILD_FUZZ)/crash-$$t-*"; \
			exit 1; \
		fi; \
	done
endef

fuzz: fuzz-build
	$(call fuzz_run,$(FUZZ_SECONDS))

fuzz-smoke: fuzz-build
	$(call fuzz_run,$(FUZZ_SMOKE_SECONDS))

soak: build deps-test
	cd tests/integration && OCSPGATE_BIN=$(CURDIR)/$(BUILD)/ocspgate \
	    OCSPGATE_SOAK_SECONDS=$(SOAK_SECONDS) python3 -m unittest -v test_soak

test: check test-asan test-valgrind fuzz-smoke

# As a packager builds it: configured for /usr, without the tests.
package: deps
	$(call apt_install,dpkg-dev)
	cmake -S . -B $(BUILD_PACKAGE) -DCMAKE_BUILD_TYPE=Release \
	    -DCMAKE_INSTALL_PREFIX=/usr -DBUILD_TESTING=OFF
	cmake --build $(BUILD_PACKAGE) -j$(JOBS) --target ocspgate
	cd $(BUILD_PACKAGE) && cpack -G DEB

format:
	clang-format -i src/*/*.[ch] include/ocspgate/*.h tests/unit/*.c \
	    tests/unit/*.h tests/fuzz/*.c

check-format:
	clang-format --dry-run -Werror src/*/*.[ch] include/ocspgate/*.h \
	    tests/unit/*.c tests/unit/*.h tests/fuzz/*.c

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ) $(BUILD_VALGRIND) \
	    $(BUILD_PACKAGE) $(OCSPGATE_TEST_CACHE)
