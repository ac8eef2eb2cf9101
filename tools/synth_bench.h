/* synth_bench.h — two `mg` subcommands (tools/synth_bench.c): argv[0] is the subcommand's name.
   Each returns the exit code (0 success, 1 runtime failure, 2 usage error). */
#ifndef SYNTH_BENCH_H
#define SYNTH_BENCH_H
int mg_cmd_synth(int argc, char **argv);   /* mg synth: full-size MedGemma-shaped files, random weights */
int mg_cmd_bench(int argc, char **argv);   /* mg bench: prefill/decode speed, image encode time, memory */
#endif
