# medgemma.h — build everything with `make`, run every test with `make test`.
# Options: BLAS=1 (link OpenBLAS), NO_SIMD=1 (scalar kernels), CC=clang, OPT=-O0 -g
CC      ?= cc
OPT     ?= -O2
ARCH    ?= -march=native
WARN    := -std=c99 -Wall -Wextra -Wpedantic -Wshadow
CFLAGS  += $(OPT) $(ARCH) $(WARN) -I. -Iexamples/readers -Iexamples/common -D_POSIX_C_SOURCE=200809L
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
NOSIMD_TESTS := $(patsubst %,$(B)/nosimd/%,test_text test_trace test_vision test_chat test_vkernels test_kernels)
# the fixture tests again through the plain model path only (MG_REFERENCE: scalar kernels, plain attention and
# vision products), which must match llama.cpp within the same tolerances
REFERENCE_TESTS := $(patsubst %,$(B)/reference/%,test_text test_trace test_vision test_chat)
# fuzz targets (tests/fuzz/fuzz_*.c): gcc builds that replay tests/corpus/<target>/ in `make test`
FUZZ_TARGETS := gguf tokenizer png jpeg pnm bmp dicom nifti boxes json chat snapshot
FUZZ_REPLAY  := $(FUZZ_TARGETS:%=$(B)/tests/fuzz_%)
HDRS       := medgemma.h tools/gguf_write.h $(wildcard examples/readers/*.h) $(wildcard examples/common/*.h) $(wildcard tests/*.h)

.PHONY: all test test-core clean check-header sanitize tsan fuzz fuzz-build mg-windows
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
$(B)/bench_%: tools/bench_%.c medgemma.h | $(B)
	$(CC) $(CFLAGS) $< -o $@ $(LDLIBS)
# vision benchmark and accuracy study: reads the fixture images through the readers
$(B)/bench_vision: tools/bench_vision.c $(HDRS) $(B)/libmgx.a | $(B)
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

$(B):
	mkdir -p $(B)

# Every test binary and tests/*.sh script, then one summary line "N passed, N failed".
test: all check-header $(NOSIMD_TESTS) $(REFERENCE_TESTS) $(FUZZ_REPLAY)
	@B=$(B) sh tests/run.sh $(TESTS) $(NOSIMD_TESTS) $(REFERENCE_TESTS) $(FUZZ_REPLAY)

# The header alone: C99 and C++ declarations, implementation warning-free.
check-header: | $(B)
	@printf '#include "medgemma.h"\nint main(void){return 0;}\n' > $(B)/hdr_cpp.cc
	@c++ -fsyntax-only -Wall -Wextra -I. $(B)/hdr_cpp.cc
	@printf '#define MEDGEMMA_IMPLEMENTATION\n#include "medgemma.h"\n' > $(B)/hdr_c99.c
	@$(CC) $(WARN) -Werror -fsyntax-only -I. $(B)/hdr_c99.c

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

# build/mingw/mg.exe: tools/mg.c and the example libraries cross-compiled for Windows with MinGW-w64 (built, not run).
MINGW_CC ?= x86_64-w64-mingw32-gcc
mg-windows:
	$(MAKE) B=build/mingw CC=$(MINGW_CC) build/mingw/mg

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
