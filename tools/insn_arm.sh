#!/bin/sh
# Executed instructions per 256 weight x token products (BENCHMARKS.md, ARM kernels): each case of tools/insn_arm.c
# at each level under qemu's instruction trace (one instruction per block, every block logged with its function),
# counting the lines between insn_begin and insn_end: the kernel call and everything it calls (ours through the
# seam, ggml's vec_dot per row or row pair). Attention counts its multiply-adds of scores and P V. Run from the
# repository root after `make arm-insns` has built build/arm/LEVEL/insn_arm.
#   sh tools/insn_arm.sh [LEVEL...]        (default: v80 v82 v86)
TRACE=${ARM_TRACE:-qemu-aarch64 -cpu max -singlestep -d nochain,exec}
levels=${*:-v80 v82 v86}
printf '%-13s' case; for l in $levels; do printf '%10s' "$l"; done; echo
for c in q4_k ggml.q4_k q6_k ggml.q6_k q8_0 ggml.q8_0 q4_k.64 ggml.q4_k.64 q6_k.64 ggml.q6_k.64 q8_0.64 ggml.q8_0.64 \
         q5_k ggml.q5_k q4_0 ggml.q4_0 iq4_nl ggml.iq4_nl q4_1 ggml.q4_1 q3_k ggml.q3_k q2_k ggml.q2_k iq4_xs ggml.iq4_xs \
         q5_k.64 ggml.q5_k.64 q4_0.64 ggml.q4_0.64 iq4_nl.64 ggml.iq4_nl.64 q4_1.64 ggml.q4_1.64 q3_k.64 ggml.q3_k.64 \
         q2_k.64 ggml.q2_k.64 iq4_xs.64 ggml.iq4_xs.64 \
         f16 tile_f32 tile_bf16 attn; do
  printf '%-13s' "$c"
  for l in $levels; do
    out=$( { $TRACE -D /dev/fd/3 "build/arm/$l/insn_arm" "$c" nocheck 3>&1 >"build/arm/$l/insn_$c.txt" | awk '$NF == "insn_begin" { on = 1; next } $NF == "insn_end" { on = 0 } on { n++ } END { print n + 0 }'; } )
    work=$(awk '/ work / { print $3 }' "build/arm/$l/insn_$c.txt")
    if [ -n "$work" ] && [ "$work" -gt 0 ]; then awk -v n="$out" -v w="$work" 'BEGIN { printf "%10.1f", 256 * n / w }'; else printf '%10s' -; fi
  done
  echo
done
