#!/bin/sh
# Runs libFuzzer targets (built by `make fuzz-build` into build/fuzz) for FUZZ_SECONDS each, under nice.
# Usage: FUZZ_SECONDS=N sh tests/fuzz/run.sh TARGET...     (from the repository root; `make fuzz` calls this)
# Corpora: build/fuzz/corpus/<t> (kept between runs, grows), seeded from build/fuzz/seeds/<t> (made here from
# tests/data and gen_seeds) and tests/corpus/<t> (committed regressions). Crashes, leaks, timeouts and OOMs go
# to build/fuzz/crashes/<t>/; copy each one to tests/corpus/<t>/ once it is fixed. Logs: build/fuzz/logs/<t>.log.
# Dictionaries: tests/fuzz/<t>.dict when present. Prints one line per target (executions, coverage, corpus) and exits 1 if any target found a problem.
FZ=build/fuzz; S=${FUZZ_SECONDS:-60}; D=tests/data; SD=$FZ/seeds
mkdir -p $FZ/logs $FZ/crashes $SD

seed() {   # seed TARGET NAME CONTENT(printf format)
  mkdir -p $SD/$1; printf "$3" > $SD/$1/$2
}
cp_small() {   # cp_small MAX_BYTES DEST FILE...: copies the files of at most MAX_BYTES (small seeds fuzz fast)
  max=$1; dest=$2; shift 2
  for f in "$@"; do [ "$(wc -c < "$f")" -le "$max" ] && cp "$f" "$dest/"; done; return 0
}
make_seeds() {
  $FZ/gen_seeds $FZ/gen >/dev/null || exit 1
  mkdir -p $SD/gguf $SD/png $SD/jpeg $SD/bmp $SD/dicom $SD/nifti $SD/json
  cp $FZ/gen/gguf/*.gguf $SD/gguf/
  cp $FZ/gen/png/*.png $D/images/img-small-300x200.png $SD/png/
  cp_small 16384 $SD/jpeg $D/images/*.jpg
  cp_small 16384 $SD/bmp $D/images/*.bmp
  cp_small 40000 $SD/dicom $D/dicom/*.dcm $D/dicom/CT5N/2062.dcm
  cp $D/nifti/dt_*.nii $SD/nifti/; gzip -cn $D/nifti/dt_i16.nii > $SD/nifti/dt_i16.nii.gz
  cp $D/ehr/observation-example-bloodpressure.json $SD/json/
  seed json a.json '{"a":[1,-2.5e3,true,null,"x\\u00e9\\ud83d\\ude00"],"b":{}}'
  seed json b.json '[[[]],{"k":"\\n\\t\\\\"},0.0,-0]'
  seed pnm p2.pgm 'P2\n# c\n3 2\n255\n0 128 255\n1 2 3\n'
  seed pnm p3.ppm 'P3\n2 1\n65535\n0 1000 65535 7 8 9\n'
  seed pnm p5.pgm 'P5 2 2 255\n\001\002\003\004'
  seed pnm p6.ppm 'P6\n1 2\n255\n\377\000\000\000\377\000'
  seed tokenizer plain '\000The patient has a fever.  Über 38\342\204\203\n'
  seed tokenizer special '\003<start_of_turn>user\nHi<end_of_turn>\n<eos><unused94>x'
  seed tokenizer bytes '\005\377\376\300\200 <0xFF> \t\t\n\n'
  seed boxes fenced 'Final Answer: ```json\n[{"box_2d": [100, 200, 300, 400], "label": "right lung"}]\n```'
  seed boxes thinking '<unused94>think<unused95>[{"box_2d":[900,5,1,1200],"label":"heart"},{"box_2d":[1,2],"label":3}]'
  seed chat two_turns '\013You are a radiologist.\000user\000Describe\000\003\000\002\000model\000It is fine.\000\002'
  seed chat no_system '\031\000Hello  \000\003\000\003'
}
make_seeds

status=0
for t in "$@"; do
  mkdir -p $FZ/corpus/$t $FZ/crashes/$t $SD/$t
  extra=""; [ -d tests/corpus/$t ] && extra=tests/corpus/$t
  dict=""; [ -f tests/fuzz/$t.dict ] && dict=-dict=tests/fuzz/$t.dict
  nice -n 19 $FZ/fuzz_$t $dict -max_total_time=$S -timeout=30 -rss_limit_mb=2560 -print_final_stats=1 \
      -artifact_prefix=$FZ/crashes/$t/ $FZ/corpus/$t $SD/$t $extra > $FZ/logs/$t.log 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' $FZ/logs/$t.log | tail -n 1 | sed 's/.*: //')
  cov=$(grep -E '^#[0-9]+' $FZ/logs/$t.log | grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*/[^ ]*' | tail -n 1)
  if [ $rc -ne 0 ]; then
    status=1
    echo "FAIL fuzz $t: exit $rc after ${execs:-?} executions; $(grep -m1 -E 'ERROR|SUMMARY|invariant' $FZ/logs/$t.log)"
    ls $FZ/crashes/$t/ | sed "s|^|    $FZ/crashes/$t/|"
  else
    echo "ok fuzz $t: ${execs:-?} executions in ${S}s, $cov"
  fi
done
exit $status
