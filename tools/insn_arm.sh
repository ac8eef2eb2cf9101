#!/bin/sh
# Executed instructions per 256 weight x token products (BENCHMARKS.md, ARM kernels): each case of tools/insn_arm.c
# at each level under qemu's instruction trace (one instruction per block, every block logged with its function),
# counting the lines of the kernel's functions: ours (mg__..._neon, the row kernels, tiles and panels) or ggml's
# ggml_vec_dot_*. The simple attention case is counted per 256 multiply-adds. Run from the repository root after
# `make arm-insns` has built build/arm/LEVEL/insn_arm.
#   sh tools/insn_arm.sh [LEVEL...]        (default: v80 v82 v86)
TRACE=${ARM_TRACE:-qemu-aarch64 -cpu max -singlestep -d nochain,exec}
OURS='^mg__([a-z0-9_]*_neon|rows4_[a-z0-9_]*|mtile_[a-z0-9_]*|mpanel_[a-z0-9_]*|mmla_block|exp4|exp2_4)(\\.[a-z]+\\.[0-9]+)*$'
GGML='^ggml_vec_dot_'
levels=${*:-v80 v82 v86}
printf '%-13s' case; for l in $levels; do printf '%10s' "$l"; done; echo
for c in q4_k ggml.q4_k q6_k ggml.q6_k q8_0 ggml.q8_0 q4_k.64 ggml.q4_k.64 q6_k.64 ggml.q6_k.64 q8_0.64 ggml.q8_0.64 \
         f16 tile_f32 tile_bf16 attn; do
  case $c in ggml.*) pat=$GGML;; *) pat=$OURS;; esac
  printf '%-13s' "$c"
  for l in $levels; do
    out=$( { $TRACE -D /dev/fd/3 "build/arm/$l/insn_arm" "$c" nocheck 3>&1 >"build/arm/$l/insn_$c.txt" | awk -v p="$pat" '$NF ~ p { n++ } END { print n + 0 }'; } )
    work=$(awk '/ work / { print $3 }' "build/arm/$l/insn_$c.txt")
    if [ -n "$work" ] && [ "$work" -gt 0 ]; then awk -v n="$out" -v w="$work" 'BEGIN { printf "%10.1f", 256 * n / w }'; else printf '%10s' -; fi
  done
  echo
done
