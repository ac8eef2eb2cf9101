#!/bin/sh
# Runs every test program given as arguments and every tests/*.sh script from the repository root.
# Each prints lines "ok ..." / "FAIL ..." and ends with "N passed, N failed"; this adds them up.
# RUNNER: a command that runs each program (an emulator: make arm-test, i386-test, mingw-test, s390x-test); SCRIPTS=0 leaves
# the scripts out (they run the native build/ programs).
passed=0; failed=0; broken=""
scripts=tests/*.sh; [ "${SCRIPTS:-1}" = 0 ] && scripts=""
for t in "$@" $scripts; do
  case "$t" in tests/run.sh) continue;; esac
  [ -e "$t" ] || continue
  out=$( { case "$t" in *.sh) sh "$t";; *) $RUNNER "$t";; esac; } 2>&1 ); rc=$?
  printf '%s\n' "$out" | grep -E '^(FAIL|not ok)' | sed "s|^|[$t] |"
  line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
  if [ -z "$line" ]; then
    failed=$((failed + 1)); broken="$broken $t"
    printf '[%s] FAIL: no summary line (exit %s)\n%s\n' "$t" "$rc" "$(printf '%s\n' "$out" | tail -n 5)"
    continue
  fi
  p=${line%% passed*}; f=${line#*passed, }; f=${f%% failed*}
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; broken="$broken $t"; fi
  printf '%-32s %s\n' "${t#"${B:-build}"/tests/}" "$line"
  passed=$((passed + p)); failed=$((failed + f))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
