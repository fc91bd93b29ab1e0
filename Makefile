# ocspgate: install what is missing (Debian 12, as root), build, run, test.
#   make run        build and run on conf/ocspgate.conf (127.0.0.1:3128)
#   make test       build and run every test, then again under ASan+UBSan
#   make check      the plain build's tests only
#   make test-asan  the ASan+UBSan build's tests only
#   make format     clang-format the sources

BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_TYPE ?= RelWithDebInfo
CONFIG     ?= conf/ocspgate.conf
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)

# Build tools and libraries, then the real peers the tests talk to.
BUILD_PACKAGES := gcc libc6-dev make cmake pkg-config libevent-dev \
	libssl-dev libconfig-dev node-llhttp
TEST_PACKAGES  := openssl curl python3 ca-certificates haproxy nftables \
	iptables iproute2
CLANG_PACKAGES := clang libclang-rt-14-dev clang-format

CTEST_FLAGS ?= --output-on-failure -j$(JOBS)

.PHONY: all deps deps-test build run check test test-asan format \
	check-format clean

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
	cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    ctest $(CTEST_FLAGS)

test: check test-asan

format:
	clang-format -i src/*.c include/ocspgate/*.h tests/unit/*.c \
	    tests/unit/*.h tests/fuzz/*.c

check-format:
	clang-format --dry-run -Werror src/*.c include/ocspgate/*.h \
	    tests/unit/*.c tests/unit/*.h tests/fuzz/*.c

clean:
	rm -rf $(BUILD) $(BUILD_ASAN)
