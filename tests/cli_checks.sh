#!/bin/sh
# The command line of every driver and mg subcommand (issue 14, and the driver side of issue 15): --help and
# --version, strict numbers, unknown options, the context budget, each file's role, non-regular and binary
# inputs, --draw, --think/--system, one set of sampling defaults, reports, progress. Every case checks the exit
# code (0 success, 1 runtime failure, 2 usage error) and the message.
B=${B:-build}; D=tests/data; T=$(mktemp -d); pass=0; fail=0
ok()  { pass=$((pass + 1)); echo "ok $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
TM="-m $D/models/tiny-q4_k_m.gguf"; MP=$D/models/mmproj-tiny-f16.gguf; VM="$TM --mmproj $MP"
C=$D/cxr/Chest_Xray_PA_3-8-2010.png; LAB=$D/ehr/labtext_110_thyroid_function.txt
DRIVERS="cxr ehr ct mri wsi longitudinal localize labreport"

# expect CODE TEXT WHAT command...: the exit code, and TEXT (verbatim, may span lines) on stdout or stderr
expect() {
  code=$1; text=$2; what=$3; shift 3
  timeout 60 "$@" > $T/out 2> $T/err; rc=$?
  case "$(cat $T/out $T/err)" in *"$text"*) found=1;; *) found=0;; esac
  if [ $rc -eq $code ] && [ $found -eq 1 ]; then ok "$what"; else bad "$what: rc $rc: $(head -c 400 $T/err)"; fi
}
# absent TEXT WHAT: TEXT is in neither output of the last expect
absent() { case "$(cat $T/out $T/err)" in *"$1"*) bad "$2: $(grep -F -- "$1" $T/out $T/err | head -n 2)";; *) ok "$2";; esac; }

# ---- --help and --version on every program and mg subcommand (exit 0)
V=$(sed -n 's/^#define MEDGEMMA_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)$/\2/p' medgemma.h | paste -sd.)
for p in $DRIVERS; do
  expect 0 "usage: $p " "$p --help" $B/$p --help
  expect 0 "--top-k K" "$p --help lists the sampling options" $B/$p -h
  grep -qF 'default 1024' $T/out && grep -qF 'default 0.95' $T/out && ok "$p --help gives the defaults" || bad "$p --help defaults"
  expect 0 "$p (medgemma.h $V; " "$p --version" $B/$p --version
done
for c in inspect tokenize logits generate trace embed-image synth bench; do
  expect 0 "usage: mg $c " "mg $c --help" $B/mg $c --help
done
expect 0 "usage: mg COMMAND" "mg --help" $B/mg --help
expect 0 "mg (medgemma.h $V; " "mg --version" $B/mg --version
expect 2 "error: unknown command 'frobnicate'" "mg: unknown command" $B/mg frobnicate

# ---- strict numbers and enumerations: usage errors naming the flag and the range
expect 2 "--slices: '1e3' is not a whole number (accepted: 1 to 100000)" "--slices 1e3" $B/ct $D/dicom/CT5N -q x $VM --slices 1e3
expect 2 "--slices: '3abc' is not a whole number" "--slices 3abc" $B/ct $D/dicom/CT5N -q x $VM --slices 3abc
expect 2 "--slices: '99999999999' is out of range (accepted: 1 to 100000)" "--slices 99999999999" $B/mri $D/dicom/CT5N -q x $VM --slices 99999999999
expect 2 "--patches: '2x' is not a whole number" "--patches 2x" $B/wsi $D/wsi/camelyon_multiframe_wsi.dcm -q x $VM --patches 2x
expect 2 "-t: 'abc' is not a whole number (accepted: 1 to 256)" "-t abc" $B/ehr $LAB -q x $TM -t abc
expect 2 "-t: '1000' is out of range (accepted: 1 to 256)" "-t 1000" $B/ehr $LAB -q x $TM -t 1000
expect 2 "--temp: 'abc' is not a decimal number (accepted: 0 to 100)" "--temp abc" $B/cxr $C -q x $VM --temp abc
expect 2 "--temp: 'nan' is not a decimal number" "--temp nan" $B/cxr $C -q x $VM --temp nan
expect 2 "--seed: 'abc' is not a whole number (accepted: 0 to 18446744073709551615, or -1 for a random seed)" "--seed abc" $B/longitudinal $C $C -q x $VM --seed abc
expect 2 "-n: 'abc' is not a whole number (accepted: 0 to 1048576)" "-n abc" $B/labreport $LAB $TM -n abc
expect 2 "-n: '1000000000' is out of range" "-n 1000000000" $B/cxr $C -q x $VM -n 1000000000
expect 2 "--image-mode: 'bogus' is not one of medgemma|llamacpp" "--image-mode bogus" $B/cxr $C -q x $VM --image-mode bogus
expect 2 "--top-p: '1.5' is out of range (accepted: 0 to 1)" "--top-p 1.5" $B/mg generate $TM -p x --top-p 1.5
expect 2 "--kv: 'q4' is not one of f16|q8_0|f32" "mg bench --kv q4" $B/mg bench $TM --ctx 64 --kv q4
expect 2 "error: unknown option --foo (see cxr --help)" "unknown option at the end" $B/cxr $C -q x $VM --foo
expect 2 "error: unknown option --nope" "unknown option in mg" $B/mg tokenize $TM -p x --nope
expect 2 "error: missing -q QUESTION (or -f FILE)" "missing -q" $B/cxr $C $VM
expect 2 "error: missing -m FILE" "missing -m" $B/ehr $LAB -q x
expect 2 "error: unexpected argument 'extra.png'" "too many inputs" $B/cxr $C extra.png -q x $VM
expect 0 "seed: " "--seed -1 draws a seed and prints it" $B/ehr $LAB -q x $TM -n 2 --temp 0.7 --seed -1 --json --quiet
seed=$(sed -n 's/^seed: \([0-9]*\) (random.*/\1/p' $T/err)
grep -qF "\"seed\": $seed," $T/out && ok "the JSON carries the seed used ($seed)" || bad "seed $seed not in $(cat $T/out)"
# prompt-lookup decoding: the greedy answer unchanged, in at most as many decoder passes (test_lookup measures fewer)
expect 0 '"lookup": 8}' "--lookup 8 runs and is reported" $B/ehr $LAB -q "Quote the TSH line." $TM -n 24 --json --quiet --lookup 8
with=$(sed 's/"decoder_passes": [0-9]*//; s/"timings": {[^}]*}//; s/"lookup": 8/"lookup": 0/' $T/out)
passes=$(sed -n 's/.*"generated_tokens": \([0-9]*\), "decoder_passes": \([0-9]*\).*/\1 \2/p' $T/out)
expect 0 '"lookup": 0}' "without --lookup" $B/ehr $LAB -q "Quote the TSH line." $TM -n 24 --json --quiet
without=$(sed 's/"decoder_passes": [0-9]*//; s/"timings": {[^}]*}//' $T/out)
[ -n "$with" ] && [ "$with" = "$without" ] && ok "--lookup gives the same answer object" || bad "--lookup changed the answer: $with / $without"
gen=${passes% *}; np=${passes#* }
[ -n "$passes" ] && [ "$np" -ge 1 ] && [ "$np" -le "$gen" ] && ok "--lookup: $np passes for $gen tokens" || bad "--lookup passes: '$passes'"
expect 2 "error: --lookup needs greedy decoding (--temp 0, --repeat-penalty 1)" "--lookup with --temp" $B/ehr $LAB -q x $TM --lookup 4 --temp 0.5
expect 2 "--lookup: '65' is out of range (accepted: 0 to 64)" "--lookup 65" $B/ehr $LAB -q x $TM --lookup 65
cpus=$(getconf _NPROCESSORS_ONLN)
if [ "$cpus" -lt 256 ]; then
  expect 0 "note: -t 256 is more than the $cpus CPUs online; using $cpus threads" "-t above the CPUs: reduced, with a note" $B/ehr $LAB -q x $TM -n 2 -t 256 --quiet
fi

# ---- the context budget, checked before any image is encoded or any token is read
awk 'BEGIN { printf "{\"resourceType\":\"Bundle\",\"entry\":["; for (i = 0; i < 3000; i++) printf "%s{\"resource\":{\"resourceType\":\"Observation\",\"id\":\"o%d\",\"valueQuantity\":{\"value\":4.%d,\"unit\":\"mmol/L\"}}}", i ? "," : "", i, i; print "]}" }' > $T/big.json
expect 1 "but the context holds 4096 (the model's context); shorten the document" "ehr: a prompt over the context is refused" $B/ehr $T/big.json -q 'Summarize.' $TM
expect 1 "error: the prompt is " "the message gives the prompt's size" $B/ehr $T/big.json -q 'Summarize.' $TM -n 0
expect 1 "but the context holds 64 (-c); shorten the document, or raise -c" "ehr -c 64" $B/ehr $LAB -q x $TM -c 64
expect 1 "-n asks for 100000 more, but the context holds 4096 (the model's context): use -n 3982 or less" "-n over what remains" $B/ehr $LAB -q x $TM -n 100000
expect 1 "error: -c 5000 is more than the model's context of 4096 tokens" "-c over the model's context" $B/ehr $LAB -q x $TM -c 5000
expect 1 "the prompt is 285 tokens but the context holds 200 (-c)" "cxr -c 200: refused before encoding" $B/cxr $C -q 'Any consolidation?' $VM -c 200
absent "encoding image" "cxr -c 200: nothing encoded"
expect 1 "use fewer --slices" "ct: too many slices for the context" $B/ct $D/nifti/anatomical.nii.gz -q x $VM
absent "encoding slice" "ct: nothing encoded"
expect 1 "use fewer --patches" "wsi: the advice names --patches" $B/wsi $D/wsi/camelyon_multiframe_wsi.dcm -q x $VM -c 100
expect 1 "but the context holds 4096" "mg generate: a prompt over the context" $B/mg generate $TM -f $T/big.json
awk 'BEGIN { for (i = 0; i < 1500000; i++) printf "a " }' > $T/long.txt    # 3 MB, about 1.5 M tokens
expect 1 "error: building the prompt: chat: the prompt needs more than MG_MAX_PROMPT_TOKENS = 1048576 tokens; shorten the document" \
  "ehr: a note over MG_MAX_PROMPT_TOKENS is named as such" $B/ehr $T/long.txt -q x $TM
expect 0 '"n_predict": 86}' "-n 0: up to the end of the context (200 - 114 tokens)" $B/ehr $LAB -q x $TM -c 200 -n 0 --json --quiet
grep -qF '"prompt_tokens": 114,' $T/out && ok "-n 0: the prompt took 114 tokens" || bad "-n 0 prompt: $(cat $T/out)"
expect 0 "note: the answer may take at most 86 tokens" "the default -n capped by the context, with a note" $B/ehr $LAB -q x $TM -c 200

# ---- files: each GGUF's role, missing files named with their flag, paths named once
expect 1 "error: -m $MP is a vision projector (mmproj); pass it as --mmproj" "mmproj given as -m" $B/cxr $C -q x -m $MP
expect 1 "error: -m and --mmproj are swapped" "-m and --mmproj swapped" $B/cxr $C -q x -m $MP --mmproj $D/models/tiny-q4_k_m.gguf
expect 1 "error: --mmproj $D/models/tiny-q8_0.gguf is a text model, not a vision projector; pass it as -m" "a text model as --mmproj" $B/cxr $C -q x $TM --mmproj $D/models/tiny-q8_0.gguf
expect 1 "error: -m $D/models/none.gguf: cannot open: No such file or directory" "a missing model names -m" $B/cxr $C -q x -m $D/models/none.gguf --mmproj $MP
expect 1 "error: --mmproj $D/models/none.gguf: cannot open: No such file or directory" "a missing mmproj names --mmproj" $B/cxr $C -q x $TM --mmproj $D/models/none.gguf
expect 1 "error: -m $D/vocab/gemma3-vocab.gguf holds a tokenizer only (no weights)" "a vocabulary-only file as -m" $B/ehr $LAB -q x -m $D/vocab/gemma3-vocab.gguf
expect 1 "has no vision tower; pass the vision projector with --mmproj" "no vision: the flag, not the C field" $B/longitudinal $C $C -q x $TM
absent "mmproj_path" "no vision: no C field name"
expect 1 "error: $T/missing.png: cannot open: No such file or directory" "a missing image" $B/cxr $T/missing.png -q x $VM
[ "$(grep -o 'missing.png' $T/err | wc -l)" -eq 1 ] && ok "the path is named once" || bad "path repeated: $(cat $T/err)"
mkdir $T/empty; mkfifo $T/fifo
expect 1 "error: $T/empty is a directory" "a directory as an image" $B/cxr $T/empty -q x $VM
expect 1 "error: $T/fifo is not a regular file" "a FIFO as an image (no hang)" $B/localize $T/fifo --object heart $VM
expect 1 "error: /dev/zero is not a regular file" "/dev/zero as an image" $B/cxr /dev/zero -q x $VM
expect 1 "error: /dev/zero is not a regular file" "/dev/zero as a lab report" $B/labreport /dev/zero $TM
expect 1 "error: $T/fifo is not a regular file" "a FIFO as a volume" $B/ct $T/fifo -q x $VM
expect 1 "error: $T/fifo is not a regular file" "a FIFO as a slide" $B/wsi $T/fifo -q x $VM
expect 1 "error: $T/empty: the folder has no images" "wsi: an empty folder" $B/wsi $T/empty -q x $VM
mkdir $T/patches; cp $C $T/patches/; mkfifo $T/patches/pipe
expect 1 ": pipe (FIFO)" "wsi: a FIFO in a folder is skipped with a note (no hang)" $B/wsi $T/patches -q x $VM
expect 1 "error: -f /dev/zero is not a regular file" "mg tokenize -f /dev/zero: refused at once" $B/mg tokenize $TM -f /dev/zero
expect 1 "error: -f $T/fifo is not a regular file" "a FIFO as a question file" $B/ehr $LAB -f $T/fifo $TM

# ---- text inputs: NUL bytes, binary files and invalid JSON are refused (never cut, never pasted silently)
printf 'Patient has diabetes.\000 Patient is allergic to penicillin.' > $T/nul.txt
expect 1 "$T/nul.txt: a NUL byte at offset 21: not text" "ehr: a NUL in a note (offset named)" $B/ehr $T/nul.txt -q 'Allergies?' $TM
expect 1 "-f $T/nul.txt: a NUL byte at offset 21" "mg tokenize -f: a NUL is refused, not cut" $B/mg tokenize $TM -f $T/nul.txt
expect 1 "a NUL byte at offset 21" "a question file with a NUL" $B/cxr $C -f $T/nul.txt $VM
expect 1 "$C is an image file (png), not text" "ehr: a PNG" $B/ehr $C -q x $TM
awk 'BEGIN { srand(7); for (i = 0; i < 3000; i++) printf "%c", 128 + int(rand() * 128) }' > $T/random.bin
expect 1 "$T/random.bin: not UTF-8 text (byte 0x" "ehr: random bytes" $B/ehr $T/random.bin -q x $TM
printf '{"resourceType": "Observation", "valueQuantity": {"value": 4.60,' > $T/cut.json
expect 1 "error: $T/cut.json is not valid JSON: json: " "ehr: invalid JSON refused with the parser's message" $B/ehr $T/cut.json -q x $TM
grep -qF -- "--as-text" $T/err && ok "the message points at --as-text" || bad "no --as-text hint: $(cat $T/err)"
expect 0 '{"resourceType": "Observation", "valueQuantity": {"value": 4.60,' "ehr --as-text pastes it as it is" $B/ehr $T/cut.json -q x $TM --as-text --dump-prompt
printf '{"resourceType": "Observation", "valueQuantity": {"value": 4.60, "unit": "mmol/L"}, "id": 12345678901234567890, "x": 1E+2}' > $T/num.json
expect 0 'TOOL OUTPUT:
{"resourceType":"Observation","valueQuantity":{"value":4.60,"unit":"mmol/L"},"id":12345678901234567890,"x":1E+2}

x<end_of_turn>' "ehr: FHIR numbers reach the prompt as written (4.60, 12345678901234567890, 1E+2)" $B/ehr $T/num.json -q x $TM --dump-prompt
printf 'What is the TSH?' > $T/q.txt
expect 0 "What is the TSH?<end_of_turn>" "-f FILE as the question" $B/ehr $LAB -f $T/q.txt $TM --dump-prompt
expect 0 "assistant.

What is the TSH?

x<end_of_turn>" "- reads the document from stdin" sh -c "printf 'What is the TSH?' | $B/ehr - -q x $TM --dump-prompt"

# ---- localize --draw: checked before any model work
expect 2 "--draw $T/boxes.jpg: the drawing is written as PNG; give a name ending in .png" "--draw x.jpg refused" $B/localize $T/none.png --object heart --draw $T/boxes.jpg -m $T/none.gguf
expect 1 "error: --draw $T/no/such/boxes.png: cannot write" "--draw into a missing folder, before any model work" $B/localize $T/none.png --object heart --draw $T/no/such/boxes.png -m $T/none.gguf
[ ! -e $T/boxes.jpg ] && ok "--draw x.jpg: nothing written" || bad "--draw wrote $T/boxes.jpg"

# ---- thinking and system texts: the model card's instruction starts the system turn
THINK='SYSTEM INSTRUCTION: think silently if needed.'
expect 0 "<start_of_turn>user
$THINK You are an expert radiologist.

" "--think: the instruction, then the recipe's system text" $B/cxr $C -q x $VM --think --dump-prompt
expect 0 "<start_of_turn>user
$THINK

You are an instructor" "--think on ct (no recipe system text): the instruction alone" $B/ct $D/dicom/CT5N -q x $VM --think --dump-prompt --slices 2
expect 0 "<start_of_turn>user
You are a helpful medical assistant.

THYROID" "ehr --dump-prompt shows the system text it sends" $B/ehr $LAB -q x $TM --dump-prompt
for p in $DRIVERS; do
  case $p in longitudinal) in="$C $C -q x";; localize) in="$C --object heart";; labreport) in=$LAB;; ct|mri) in="$D/dicom/CT5N --slices 1 -q x";;
    wsi) in="$D/wsi/camelyon_multiframe_wsi.dcm -q x";; ehr) in="$LAB -q x";; *) in="$C -q x";; esac
  expect 0 "<bos><start_of_turn>user
Be brief.

" "$p --system" $B/$p $in $VM --system 'Be brief.' --dump-prompt
done

# ---- one set of sampling defaults: mg generate --chat and a driver give the same sampled answer
{ cat $LAB; printf '\n\nIs TSH normal?'; } > $T/chat.txt
a=$($B/ehr $LAB -q 'Is TSH normal?' $TM -n 12 --temp 0.9 --seed 3 --json --quiet | sed 's/.*"answer": \("[^"]*"\).*/\1/')
b=$($B/mg generate $TM --chat --system 'You are a helpful medical assistant.' -f $T/chat.txt -n 12 --temp 0.9 --seed 3 --json --quiet | sed 's/.*"answer": \("[^"]*"\).*/\1/')
c=$($B/mg generate $TM --chat --system 'You are a helpful medical assistant.' -f $T/chat.txt -n 12 --temp 0.9 --seed 3 --top-k 64 --top-p 0.95 --json --quiet | sed 's/.*"answer": \("[^"]*"\).*/\1/')
[ -n "$a" ] && [ "$a" = "$b" ] && [ "$b" = "$c" ] && ok "same --temp, same sampler: ehr = mg generate = explicit top-k 64 top-p 0.95" || bad "sampling differs: [$a] [$b] [$c]"

# ---- reports: labelled answers, JSON fields and provenance, progress, the summary line
expect 0 "[2/2] Impression?" "plain: several answers are labelled" $B/cxr $C -q 'Findings?' -q 'Impression?' $VM -n 4
grep -qF "[1/2] Findings?" $T/out && ok "plain: first label" || bad "first label: $(cat $T/out)"
grep -qx 'encoding image 0/1, 0.0 s elapsed' $T/err && grep -q '^encoding image 1/1, [0-9.]* s elapsed$' $T/err && ok "cxr shows encode progress" || bad "encode progress: $(cat $T/err)"
grep -q '^cxr: 2 answers; prompt [0-9]* tokens; 1 image encoded in [0-9.]* s; prefill [0-9]* tokens in [0-9.]* s ([0-9.]* tok/s); decode 8 tokens in [0-9.]* s ([0-9.]* tok/s)$' $T/err && ok "summary line" || bad "summary: $(tail -n 1 $T/err)"
expect 0 "" "--quiet" $B/cxr $C -q 'Findings?' $VM -n 4 --quiet
[ ! -s $T/err ] && ok "--quiet: nothing on stderr" || bad "--quiet stderr: $(cat $T/err)"
long=$(awk 'BEGIN { for (i = 0; i < 300; i++) printf "word%d ", i }')
expect 0 "reading prompt 2/2: token 0/" "after a shared prefix each question has its own progress" $B/ct $D/dicom/CT5N -q "One? $long" -q "Two? $long" $VM --slices 2 -n 2 --json
[ "$(grep -c '^encoding slice [0-2]/2, ' $T/err)" -eq 3 ] && ! grep -q "$(printf '\r')" $T/err && ok "progress off a terminal: a line per update, no carriage return" || bad "progress lines: $(od -c $T/err | head -n 3)"
s=$(sed -n 's|^reading the shared prompt: token 0/\([0-9]*\),.*|\1|p' $T/err); q=$(sed -n 's|^reading prompt 2/2: token 0/\([0-9]*\),.*|\1|p' $T/err)
p=$(sed -n '2s/.*"prompt_tokens": \([0-9]*\),.*/\1/p' $T/out)
[ -n "$s" ] && [ -n "$q" ] && [ $((s + q)) -eq "$p" ] && ok "question 2 counts only its own $q of $p tokens (shared: $s)" || bad "progress counts: shared $s, own $q, prompt $p"
for p in longitudinal localize labreport; do
  case $p in longitudinal) in="$C $C -q x";; localize) in="$C --object heart";; labreport) in=$C;; esac
  expect 0 "encoding image 1/" "$p shows encode progress" sh -c "$B/$p $in $VM -n 2; exit 0"
done
expect 0 '"question": "Findings?", "answer": "' "cxr --json" $B/cxr $C -q 'Findings?' $VM -n 4 --json --quiet
sha=$(sha256sum $C | cut -c1-64)
for k in '"thought": "", "prompt_tokens": 282, "generated_tokens": 4, "decoder_passes": 4, "stop": "max_tokens", "timings": {"encode_s": ' \
         '"decode_tok_s": ' "\"inputs\": [{\"path\": \"$C\", \"sha256\": \"$sha\"}]" "\"images\": [\"$C\"]" \
         '"sampling": {"temp": 0, "top_k": 64, "top_p": 0.95, "min_p": 0, "repeat_penalty": 1, "seed": 0, "lookup": 0}' \
         "\"runtime\": \"medgemma.h $V\"" "\"model\": {\"path\": \"$D/models/tiny-q4_k_m.gguf\", \"fingerprint\": \"" \
         "\"vision\": {\"path\": \"$MP\", \"fingerprint\": \"" '"system": "You are an expert radiologist."'; do
  grep -qF -- "$k" $T/out && ok "cxr --json holds $(printf '%s' "$k" | cut -c1-40)" || bad "cxr --json lacks $k: $(cat $T/out)"
done
grep -q '"fingerprint": "[0-9a-f]\{64\}"' $T/out && ok "fingerprints in hex" || bad "fingerprint format"
case "$($B/mg --version)" in *bf16*) prod=bf16;; *) prod=float;; esac   # bf16 products where the CPU has them
grep -qF "\"image_products\": \"$prod\"" $T/out && ok "cxr --json: $prod image products by default" || bad "image products: $(cat $T/out)"
expect 0 '"image_products": "float"' "cxr --vision-f32: float image products" $B/cxr $C -q 'Findings?' $VM -n 4 --json --quiet --vision-f32
expect 0 '"slices": [2, 4]' "ct --json names the slices used" $B/ct $D/dicom/CT5N -q 'Q' $VM --slices 2 -n 2 --json --quiet
word=threads; [ "$cpus" -eq 1 ] && word=thread
expect 0 "; $cpus $word; weights" "mg bench prints the threads it uses (the CPUs by default)" $B/mg bench $TM -p 8 -n 2 -r 1
expect 0 "; 1 thread; weights" "mg bench -t 1" $B/mg bench $TM -p 8 -n 2 -r 1 -t 1

rm -rf "$T"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
