# medgemma.h — build everything with `make`, run every test with `make test`.
# Options: BLAS=1 (link OpenBLAS), NO_SIMD=1 (scalar kernels), CC=clang, OPT=-O0 -g, ARCH= (no -march/-mcpu)
CC      ?= cc
OPT     ?= -O2
# The host's instruction set: -march=native on x86-64, -mcpu=native on arm64 (the spelling gcc and clang both
# take there), nothing where the compiler refuses it (a cross compiler, an older Apple clang) or elsewhere.
ifeq ($(origin ARCH),undefined)
HOST_M  := $(shell uname -m)
NATIVE  := $(if $(filter x86_64 amd64,$(HOST_M)),-march=native,$(if $(filter aarch64 arm64,$(HOST_M)),-mcpu=native))
ARCH    := $(if $(NATIVE),$(shell $(CC) $(NATIVE) -x c -c /dev/null -o /dev/null 2>/dev/null && echo $(NATIVE)))
endif
WARN    := -std=c99 -Wall -Wextra -Wpedantic -Wshadow
# 64-bit file offsets everywhere (32-bit builds measure files past 2 GiB); macOS hides sysctl and friends under
# strict POSIX unless _DARWIN_C_SOURCE is set
CFLAGS  += $(OPT) $(ARCH) $(WARN) -I. -Iexamples/readers -Iexamples/common -D_POSIX_C_SOURCE=200809L -D_FILE_OFFSET_BITS=64
ifeq ($(shell uname -s),Darwin)
CFLAGS  += -D_DARWIN_C_SOURCE
endif
LDLIBS  += -lm -lpthread
B       := build

ifeq ($(BLAS),1)
CFLAGS  += -DMG_USE_BLAS $(shell pkg-config --cflags openblas 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
endif
ifeq ($(NO_SIMD),1)
CFLAGS  += -DMG_NO_SIMD
endif

# examples/readers: untrusted file formats (images, DICOM, NIfTI, JSON); examples/common: prompts and command lines
COMMON_SRC := $(wildcard examples/readers/*.c) $(wildcard examples/common/*.c)
COMMON_OBJ := $(COMMON_SRC:examples/%.c=$(B)/%.o)
EXAMPLES   := $(patsubst examples/%.c,$(B)/%,$(wildcard examples/*.c))
TESTS      := $(patsubst tests/%.c,$(B)/tests/%,$(wildcard tests/test_*.c))
TOOLS      := $(B)/mg $(B)/bench_attn $(B)/bench_kern $(B)/bench_decode $(B)/bench_vision $(B)/bench_inflate
# the fixture tests again against the scalar kernels (MG_NO_SIMD): SIMD and scalar must both match llama.cpp
NOSIMD_TESTS := $(patsubst %,$(B)/nosimd/%,test_text test_trace test_vision test_chat test_vkernels test_kernels test_quants)
# the fixture tests again through the plain model path only (MG_REFERENCE: scalar kernels, plain attention and
# vision products), which must match llama.cpp within the same tolerances
REFERENCE_TESTS := $(patsubst %,$(B)/reference/%,test_text test_trace test_vision test_chat)
# fuzz targets (tests/fuzz/fuzz_*.c): gcc builds that replay tests/corpus/<target>/ in `make test`
FUZZ_TARGETS := gguf tokenizer png jpeg pnm bmp dicom nifti boxes json chat snapshot
FUZZ_REPLAY  := $(FUZZ_TARGETS:%=$(B)/tests/fuzz_%)
HDRS       := medgemma.h tools/gguf_write.h $(wildcard examples/readers/*.h) $(wildcard examples/common/*.h) $(wildcard tests/*.h)

.PHONY: all test test-core clean check-header check-header-full sanitize tsan fuzz fuzz-build mg-windows mg-windows-test arm-test arm-insns
all: $(TOOLS) $(EXAMPLES) $(TESTS)

$(B)/medgemma.o: medgemma.h | $(B)
	$(CC) $(CFLAGS) -DMEDGEMMA_IMPLEMENTATION -x c -c $< -o $@

$(B)/readers/%.o: examples/readers/%.c $(HDRS) | $(B)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@
$(B)/common/%.o: examples/common/%.c $(HDRS) | $(B)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(B)/libmgx.a: $(COMMON_OBJ) | $(B)
	rm -f $@; ar rcs $@ $(COMMON_OBJ)

# the GGUF writer and reference quantizers (tools/gguf_write.h): tests and `mg synth`, not the runtime
$(B)/gguf_write.o: tools/gguf_write.h medgemma.h | $(B)
	$(CC) $(CFLAGS) -DMG_GGUF_WRITE_IMPLEMENTATION -x c -c $< -o $@

$(B)/mg: tools/mg.c tools/synth_bench.c $(wildcard tools/*.h) $(B)/medgemma.o $(B)/gguf_write.o $(B)/libmgx.a $(HDRS)
	$(CC) $(CFLAGS) tools/mg.c tools/synth_bench.c $(B)/medgemma.o $(B)/gguf_write.o $(B)/libmgx.a -o $@ $(LDLIBS)

# kernel benchmarks: they include the implementation to reach the private kernels
$(B)/bench_%: tools/bench_%.c medgemma.h tools/bench_time.h tools/bench_impl.h | $(B)
	$(CC) $(CFLAGS) $< -o $@ $(LDLIBS)
# vision benchmark and accuracy study: reads the fixture images through the readers
$(B)/bench_vision: tools/bench_vision.c tools/bench_time.h tools/bench_impl.h $(HDRS) $(B)/libmgx.a | $(B)
	$(CC) $(CFLAGS) $< $(B)/libmgx.a -o $@ $(LDLIBS)
# inflate benchmark: includes the inflater's source
$(B)/bench_inflate: tools/bench_inflate.c examples/readers/inflate.c examples/readers/image.c examples/readers/files.c $(HDRS) | $(B)
	$(CC) $(CFLAGS) $< -o $@ $(LDLIBS)

# hello holds the implementation itself, as a program embedding the header would
$(B)/hello: examples/hello.c medgemma.h | $(B)
	$(CC) $(CFLAGS) $< -o $@ $(LDLIBS)

$(B)/%: examples/%.c $(B)/medgemma.o $(B)/libmgx.a $(HDRS)
	$(CC) $(CFLAGS) $< $(B)/medgemma.o $(B)/libmgx.a -o $@ $(LDLIBS)

$(B)/nosimd/medgemma.o: medgemma.h | $(B)
	@mkdir -p $(B)/nosimd
	$(CC) $(CFLAGS) -DMG_NO_SIMD -DMEDGEMMA_IMPLEMENTATION -x c -c $< -o $@

$(B)/nosimd/%: tests/%.c $(B)/nosimd/medgemma.o $(B)/gguf_write.o $(B)/libmgx.a $(HDRS)
	$(CC) $(CFLAGS) -DMG_NO_SIMD $< $(B)/nosimd/medgemma.o $(B)/gguf_write.o $(B)/libmgx.a -o $@ $(LDLIBS)

$(B)/reference/medgemma.o: medgemma.h | $(B)
	@mkdir -p $(B)/reference
	$(CC) $(CFLAGS) -DMG_REFERENCE -DMEDGEMMA_IMPLEMENTATION -x c -c $< -o $@

$(B)/reference/%: tests/%.c $(B)/reference/medgemma.o $(B)/gguf_write.o $(B)/libmgx.a $(HDRS)
	$(CC) $(CFLAGS) -DMG_REFERENCE $< $(B)/reference/medgemma.o $(B)/gguf_write.o $(B)/libmgx.a -o $@ $(LDLIBS)

$(B)/tests/%: tests/%.c $(B)/medgemma.o $(B)/gguf_write.o $(B)/libmgx.a $(HDRS)
	@mkdir -p $(B)/tests
	$(CC) $(CFLAGS) $< $(B)/medgemma.o $(B)/gguf_write.o $(B)/libmgx.a -o $@ $(LDLIBS)

# the readers built again with the counting allocator and work counters of tests/bounds_hooks.h
READER_SRC := $(wildcard examples/readers/*.c)
$(B)/tests/test_bounds: tests/test_bounds.c tests/bounds_hooks.h tests/deflate_writer.h $(READER_SRC) $(HDRS)
	@mkdir -p $(B)/tests
	$(CC) $(CFLAGS) -include tests/bounds_hooks.h $< $(READER_SRC) -o $@ $(LDLIBS)

# builds its own copy of the runtime with counting allocator hooks: not linked with medgemma.o
$(B)/tests/test_alloc: tests/test_alloc.c medgemma.h tests/mgtest.h
	@mkdir -p $(B)/tests
	$(CC) $(CFLAGS) $< -o $@ $(LDLIBS)

# builds its own copy of the runtime to reach the file and CPU-count internals
$(B)/tests/test_platform: tests/test_platform.c medgemma.h tests/mgtest.h tests/fixtures.h $(B)/libmgx.a
	@mkdir -p $(B)/tests
	$(CC) $(CFLAGS) $< $(B)/libmgx.a -o $@ $(LDLIBS)

$(B):
	mkdir -p $(B)

# Every test binary and tests/*.sh script, then one summary line "N passed, N failed".
test: all check-header $(NOSIMD_TESTS) $(REFERENCE_TESTS) $(FUZZ_REPLAY)
	@B=$(B) sh tests/run.sh $(TESTS) $(NOSIMD_TESTS) $(REFERENCE_TESTS) $(FUZZ_REPLAY)

# The header alone, -Werror: the declarations as C99 and C++, the implementation under every documented option
# alone and in the combinations users pick, with gcc and clang (clang only parses; gcc compiles at -O0, which
# its unused-function warnings need), MEDGEMMA_STATIC in two translation units linked into one program and run,
# the implementation as C++, and MSVC's feature inference (__AVX2__ alone implies FMA and F16C). `make test`
# runs the quick part (check-header); CI runs all of it (check-header-full, ~1 min of CPU, parallel with -j).
HDR_W      := $(WARN) -Werror -I. $(ARCH)
HDR_CBLAS  := $(shell pkg-config --cflags openblas 2>/dev/null)
HAVE_CBLAS := $(shell printf '\043include <cblas.h>\n' | $(CC) $(HDR_CBLAS) -E -x c - >/dev/null 2>&1 && echo 1)
HDR_OPTS   := - MG_NO_SIMD MG_NO_THREADS MG_NO_MMAP MG_NO_STDIO MG_REFERENCE MG_EXACT_GELU MEDGEMMA_STATIC \
              MG_NO_THREADS+MG_NO_STDIO MG_NO_SIMD+MG_NO_THREADS MEDGEMMA_STATIC+MG_NO_THREADS+MG_NO_STDIO \
              MG_REFERENCE+MG_EXACT_GELU $(if $(HAVE_CBLAS),MG_USE_BLAS MG_USE_BLAS+MG_NO_MMAP)
HDR_CCS    := gcc $(if $(shell command -v clang),clang)
HDR_cc     := $(CC) -O0 -c -o /dev/null
HDR_gcc    := gcc -O0 -c -o /dev/null
HDR_clang  := clang -fsyntax-only
HDR_QUICK  := $(B)/hdr/decl-c++.ok $(B)/hdr/cc.-.ok $(B)/hdr/static-cc.ok
HDR_FULL   := $(HDR_QUICK) $(foreach c,$(HDR_CCS),$(HDR_OPTS:%=$(B)/hdr/$(c).%.ok) $(B)/hdr/$(c).avx2.ok \
              $(B)/hdr/static-$(c).ok $(B)/hdr/impl-$(c)++.ok) $(B)/hdr/msvc-avx2.ok $(B)/hdr/stdio-files.ok

check-header: $(HDR_QUICK)
check-header-full: $(HDR_FULL)

$(B)/hdr/impl.c: | $(B)
	@mkdir -p $(@D)
	@printf '#define MEDGEMMA_IMPLEMENTATION\n#include "medgemma.h"\n' > $@
# <compiler>.<options joined by +>.ok ("-": none)
$(B)/hdr/%.ok: medgemma.h $(B)/hdr/impl.c
	$(HDR_$(firstword $(subst ., ,$*))) $(HDR_W) $(if $(findstring MG_USE_BLAS,$*),$(HDR_CBLAS)) \
	    $(addprefix -D,$(filter-out -,$(subst +, ,$(word 2,$(subst ., ,$*))))) $(B)/hdr/impl.c
	@touch $@
# the AVX2-only kernels (no AVX-512), whatever this machine has
$(B)/hdr/%.avx2.ok: medgemma.h $(B)/hdr/impl.c
	$(HDR_$*) $(filter-out -march=% -mcpu=%,$(HDR_W)) -mavx2 -mfma -mf16c $(B)/hdr/impl.c
	@touch $@
$(B)/hdr/decl-c++.ok: medgemma.h | $(B)
	@mkdir -p $(@D)
	@printf '#include "medgemma.h"\nint main(void){return 0;}\n' > $(B)/hdr/decl.cc
	c++ -fsyntax-only -Wall -Wextra -Wpedantic -Werror -I. $(B)/hdr/decl.cc
	@touch $@
$(B)/hdr/impl-%++.ok: medgemma.h $(B)/hdr/impl.c
	$(subst gcc,g++,$(subst clang,clang++,$(HDR_$*))) -x c++ -std=c++11 $(subst -std=c99,,$(HDR_W)) $(B)/hdr/impl.c
	@touch $@
# two translation units with their own static copy, one program: it links and both copies answer
$(B)/hdr/static-%.ok: medgemma.h tests/header_static.c | $(B)
	@mkdir -p $(@D)
	$(firstword $(HDR_$*)) $(HDR_W) -O0 -DSECOND -c tests/header_static.c -o $(B)/hdr/static-$*.o
	$(firstword $(HDR_$*)) $(HDR_W) -O0 tests/header_static.c $(B)/hdr/static-$*.o -o $(B)/hdr/static-$* $(LDLIBS)
	$(B)/hdr/static-$*
	@touch $@
# a system that is neither POSIX nor Windows: files through stdio alone (ftell sizes, fread pieces)
$(B)/hdr/stdio-files.ok: medgemma.h $(B)/hdr/impl.c
	$(HDR_gcc) $(HDR_W) -U__unix__ -U__unix -Uunix -U__linux__ -U__linux -Ulinux $(B)/hdr/impl.c
	@touch $@
# MSVC defines __AVX2__ but neither __FMA__ nor __F16C__: the feature block must still pick the AVX2 kernels
$(B)/hdr/msvc-avx2.ok: medgemma.h $(B)/hdr/impl.c
	gcc -E -dM -D_MSC_VER=1930 -U__FMA__ -U__F16C__ -mavx2 -mno-fma -mno-f16c -I. $(B)/hdr/impl.c > $(B)/hdr/msvc.txt
	grep -q '^#define MG__AVX2 1' $(B)/hdr/msvc.txt && grep -q '^#define MG__F16C 1' $(B)/hdr/msvc.txt
	@touch $@

# ----- other platforms (CI installs the Debian packages): the platform-sensitive unit tests built with a cross
# compiler and run under an emulator, each in build/<platform>. i386 (qemu-i386; SSE2 math, as every 32-bit x86
# CPU of this century has): files past 2 and 4 GiB, GGUF, tokenizer, sampler. Windows (mingw-w64 with static
# winpthreads, run by wine): the same, the kernels and the chat template (test_gguf's 17,000 loads take minutes
# under wine: left to the other builds). s390x (big-endian, qemu-s390x): test_gguf, which checks the refusal.
# tcc with MG_NO_SIMD: the scalar build of a third compiler. Each prints "N passed, N failed".
CROSS_TESTS := test_platform test_tokenizer test_sampler test_dequant test_limits
I386_TESTS  := $(CROSS_TESTS) test_gguf
WIN_TESTS   := $(CROSS_TESTS) test_kernels test_chat
TCC_TESTS   := $(CROSS_TESTS) test_gguf test_kernels test_chat
.PHONY: i386-test mingw-test s390x-test tcc-test
i386-test:
	$(MAKE) B=build/i386 CC=i686-linux-gnu-gcc ARCH="-msse2 -mfpmath=sse" $(I386_TESTS:%=build/i386/tests/%)
	RUNNER="qemu-i386 -L /usr/i686-linux-gnu" SCRIPTS=0 sh tests/run.sh $(I386_TESTS:%=build/i386/tests/%)
# Windows builds (tests and mg.exe): static, no -march; run under wine with its own prefix
MINGW_CC   ?= x86_64-w64-mingw32-gcc
MINGW_MAKE := $(MAKE) B=build/mingw CC=$(MINGW_CC) ARCH= LDLIBS="-static -lm -lpthread"
WINE_ENV   := WINEDEBUG=-all WINEPREFIX="$(CURDIR)/build/wine"
mingw-test:
	$(MINGW_MAKE) $(WIN_TESTS:%=build/mingw/tests/%)
	$(WINE_ENV) RUNNER=wine SCRIPTS=0 sh tests/run.sh $(WIN_TESTS:%=build/mingw/tests/%.exe)
s390x-test:
	$(MAKE) B=build/s390x CC=s390x-linux-gnu-gcc ARCH= build/s390x/tests/test_gguf
	RUNNER="qemu-s390x -L /usr/s390x-linux-gnu" SCRIPTS=0 sh tests/run.sh build/s390x/tests/test_gguf
tcc-test:
	$(MAKE) B=build/tcc CC=tcc ARCH= NO_SIMD=1 $(TCC_TESTS:%=build/tcc/tests/%)
	SCRIPTS=0 sh tests/run.sh $(TCC_TESTS:%=build/tcc/tests/%)

# `make test` without the second and third builds of the fixture tests (scalar kernels, plain path): what the
# sanitizers run
test-core: all check-header $(FUZZ_REPLAY)
	@B=$(B) sh tests/run.sh $(TESTS) $(FUZZ_REPLAY)

# Every test program and script (the SIMD build; the scalar and plain-path builds run the same code paths as
# plain loops) under AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer), in build/asan.
sanitize:
	$(MAKE) B=build/asan OPT="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	        LDLIBS="-lm -lpthread -fsanitize=address,undefined" test-core

# The concurrency test (sessions on threads sharing a model, pool stress) under ThreadSanitizer, in build/tsan.
TSAN_CC ?= $(CC)
tsan:
	$(MAKE) B=build/tsan CC=$(TSAN_CC) OPT="-O1 -g -fno-omit-frame-pointer -fsanitize=thread" \
	        LDLIBS="-lm -lpthread -fsanitize=thread" build/tsan/tests/test_concurrency
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" build/tsan/tests/test_concurrency

# build/mingw/mg.exe: tools/mg.c and the example libraries cross-compiled for Windows with MinGW-w64 (static,
# no -march); mg-windows-test runs it under wine: its greedy tokens on a fixture equal the native build's.
mg-windows:
	$(MINGW_MAKE) build/mingw/mg
MG_WIN_RUN := build/mg logits -m tests/data/models/tiny-q8_0.gguf -p "The chest X-ray shows" --greedy 6
mg-windows-test: mg-windows $(B)/mg
	@want=$$($(MG_WIN_RUN) | grep '^greedy:') && \
	got=$$($(WINE_ENV) wine build/mingw/mg.exe $(wordlist 2,99,$(MG_WIN_RUN)) | tr -d '\r' | grep '^greedy:') && \
	if [ -n "$$want" ] && [ "$$got" = "$$want" ]; then echo "ok mg.exe under wine: $$got"; \
	else echo "FAIL mg.exe under wine: '$$got', native '$$want'"; exit 1; fi

# ----- ARM64 under qemu-user (Debian: gcc-aarch64-linux-gnu qemu-user; no binfmt needed): `make arm-test`
# cross-builds the kernel tests at each NEON feature level of >>kernels: ARM (ARMv8.0; DOTPROD; I8MM + BF16),
# each checking that mg_build_info() names that level, and runs them with the F32/F16/Q8_0/Q4_K_M test_text at
# the top level. qemu time is not speed (BENCHMARKS.md counts instructions instead); on the 2-core development
# machine it takes 4.5-6.5 min with its three builds (load average ~5).
ARM_CC     ?= aarch64-linux-gnu-gcc
ARM_QEMU   ?= qemu-aarch64 -cpu max -L /usr/aarch64-linux-gnu
ARM_LEVELS := v80 v82 v86
ARM_v80    := -march=armv8-a
ARM_v82    := -march=armv8.2-a+dotprod+fp16
ARM_v86    := -march=armv8.6-a+i8mm+bf16
INFO_v80   := neon
INFO_v82   := neon+dotprod
INFO_v86   := neon+dotprod+i8mm+bf16
ARM_TESTS  := test_kernels test_vkernels test_reference
ARM_RUN    := $(foreach l,$(ARM_LEVELS),$(ARM_TESTS:%=build/arm/$(l)/tests/%)) build/arm/v86/tests/test_text

arm-build-%:
	$(MAKE) B=build/arm/$* CC=$(ARM_CC) ARCH="$(ARM_$*)" OPT='-O2 -DMG_EXPECT_BUILD=\"$(INFO_$*)\"' \
	        $(ARM_TESTS:%=build/arm/$*/tests/%) $(if $(filter v86,$*),build/arm/$*/tests/test_text)
arm-test: $(ARM_LEVELS:%=arm-build-%)
	@RUNNER="$(ARM_QEMU)" SCRIPTS=0 MG_TEXT_VARIANTS=q4_k_m sh tests/run.sh $(ARM_RUN)

# Instructions per 256 weights of the NEON kernels (BENCHMARKS.md): tools/insn_arm.c at each level (static) under
# qemu's instruction trace (tools/insn_arm.sh). GGML=<a llama.cpp checkout> adds ggml's NEON dot products: its
# ggml-cpu/arch/arm/quants.c built by the same compiler at the same level.
GGML       ?=
GGML_FLAGS  = -O2 -std=c11 -DNDEBUG -D_GNU_SOURCE -I$(GGML)/ggml/include -I$(GGML)/ggml/src -I$(GGML)/ggml/src/ggml-cpu
arm-insns:
	$(foreach l,$(ARM_LEVELS),mkdir -p build/arm/$(l) && \
	  $(if $(GGML),$(ARM_CC) $(ARM_$(l)) $(GGML_FLAGS) -c $(GGML)/ggml/src/ggml-cpu/arch/arm/quants.c -o build/arm/$(l)/ggml_quants.o &&) \
	  $(ARM_CC) -O2 $(ARM_$(l)) $(WARN) -I. -D_POSIX_C_SOURCE=200809L $(if $(GGML),-DWITH_GGML) -static tools/insn_arm.c \
	    $(if $(GGML),build/arm/$(l)/ggml_quants.o) -o build/arm/$(l)/insn_arm -lm -lpthread &&) true
	sh tools/insn_arm.sh $(ARM_LEVELS)

# ----- fuzzing (tests/fuzz): each target built twice. With gcc and tests/fuzz/replay.c it replays
# tests/corpus/<target>/ in `make test`; with clang's libFuzzer + ASan + UBSan `make fuzz FUZZ_SECONDS=N`
# runs every target N seconds (tests/fuzz/run.sh: seeds, corpora, crash files in build/fuzz).
FUZZ_HDRS    := tests/fuzz/fuzz.h tests/fuzz/fuzz_img.h
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FZ           := build/fuzz
FUZZ_CFLAGS  := -O1 -g -fno-omit-frame-pointer $(ARCH) $(WARN) -I. -Iexamples/readers -Iexamples/common -Itests/fuzz \
                -D_POSIX_C_SOURCE=200809L -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_OBJ     := $(FZ)/medgemma.o $(FZ)/gguf_write.o $(COMMON_SRC:examples/%.c=$(FZ)/%.o)

$(B)/tests/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(FUZZ_HDRS) $(B)/medgemma.o $(B)/gguf_write.o $(B)/libmgx.a $(HDRS)
	@mkdir -p $(B)/tests
	$(CC) $(CFLAGS) -Itests/fuzz $< tests/fuzz/replay.c $(B)/medgemma.o $(B)/gguf_write.o $(B)/libmgx.a -o $@ $(LDLIBS)

$(FZ)/medgemma.o: medgemma.h
	@mkdir -p $(FZ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -DMEDGEMMA_IMPLEMENTATION -x c -c $< -o $@
$(FZ)/gguf_write.o: tools/gguf_write.h medgemma.h
	@mkdir -p $(FZ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -DMG_GGUF_WRITE_IMPLEMENTATION -x c -c $< -o $@
$(FZ)/readers/%.o: examples/readers/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
$(FZ)/common/%.o: examples/common/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
$(FZ)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_HDRS) $(FUZZ_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_OBJ) -o $@ -lm -lpthread
$(FZ)/gen_seeds: tests/fuzz/gen_seeds.c $(B)/medgemma.o $(B)/gguf_write.o $(B)/libmgx.a
	@mkdir -p $(FZ)
	$(CC) $(CFLAGS) $< $(B)/medgemma.o $(B)/gguf_write.o $(B)/libmgx.a -o $@ $(LDLIBS)

.SECONDARY: $(FUZZ_OBJ)
fuzz-build: $(FUZZ_TARGETS:%=$(FZ)/fuzz_%) $(FZ)/gen_seeds
fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh $(FUZZ_TARGETS)

clean:
	rm -rf $(B)
