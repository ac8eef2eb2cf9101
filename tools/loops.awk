# The loops of one function in `objdump -d --no-show-raw-insn` output (BENCHMARKS.md, ARM kernels): each backward
# branch closes a loop [target, branch]. Prints every loop (start, end, instructions in its range, in address
# order); with outer=K, the instructions one iteration of loop K executes, the loops inside it (in address order)
# running the given numbers of times.
#   aarch64-linux-gnu-objdump -d --no-show-raw-insn OBJ | awk -v fn=NAME [-v outer=K -v trips="T1 T2"] -f tools/loops.awk
function hex(s,   i, c, v) {
    v = 0
    for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)); if (!c) break; v = v * 16 + c - 1 }
    return v
}
BEGIN { n = 0; nl = 0; key = "^(sdot|smmla|bfdot|fmla|smull|smlal|mla|ld1)" }
$0 ~ "<" fn ">:$" { on = 1; next }
on && /^$/ { on = 0 }
on && /^ *[0-9a-f]+:\t/ {
    split($0, f, "\t")
    sub(/^ */, "", f[1]); sub(/:$/, "", f[1])
    a = hex(f[1]); op[n] = f[2]; addr[n++] = a
    if (f[2] ~ /^(b|b\..*|cbz|cbnz|tbz|tbnz)$/ && index(f[3], "<" fn) && match(f[3], /[0-9a-f]+ </)) {
        t = hex(substr(f[3], RSTART, RLENGTH - 2))
        if (t <= a) { lo[nl] = t; hi[nl] = a; how[nl] = f[2]; nl++ }
    }
}
END {
    for (i = 0; i < nl; i++) for (j = i + 1; j < nl; j++)   # loops in address order
        if (lo[j] < lo[i]) { x = lo[i]; lo[i] = lo[j]; lo[j] = x; x = hi[i]; hi[i] = hi[j]; hi[j] = x; x = how[i]; how[i] = how[j]; how[j] = x }
    for (i = 0; i < nl; i++) {
        c = 0; mix = ""; delete cnt
        for (k = 0; k < n; k++) if (addr[k] >= lo[i] && addr[k] <= hi[i]) { c++; if (op[k] ~ key) cnt[op[k]]++ }
        for (x in cnt) mix = mix " " x " " cnt[x]
        printf "loop %d: %x..%x (%s) %d instructions%s\n", i + 1, lo[i], hi[i], how[i], c, mix
    }
    if (!outer) exit
    o = outer - 1; m = split(trips, tr, " "); q = 0
    for (i = 0; i < nl; i++) if (i != o && lo[i] >= lo[o] && hi[i] <= hi[o]) { q++; trip[i] = q <= m ? tr[q] : 1 }
    total = 0
    for (k = 0; k < n; k++) {
        if (addr[k] < lo[o] || addr[k] > hi[o]) continue
        w = 1
        for (i = 0; i < nl; i++) if (i in trip && addr[k] >= lo[i] && addr[k] <= hi[i]) w *= trip[i]
        total += w
    }
    printf "per iteration of loop %d: %d instructions\n", outer, total
}
