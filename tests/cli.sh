#!/bin/sh
# End-to-end runs of $B/mg against the llama.cpp references in tests/data.
# Prints "ok ..." / "FAIL ..." lines and "N passed, N failed".
B=${B:-build}; MG=$B/mg; D=tests/data; T=$(mktemp -d); pass=0; fail=0
ok()   { pass=$((pass + 1)); echo "ok $1"; }
bad()  { fail=$((fail + 1)); echo "FAIL $1"; }
check() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: got [$2] want [$3]"; fi; }

# tokenize: the vocab-only file works; special parsing on by default; BOS from the vocabulary
check "tokenize vocab-only, no BOS" "$($MG tokenize -m $D/vocab/gemma3-vocab.gguf --no-bos -p 'Hello world')" "9259 1902"
check "tokenize with BOS + specials" "$($MG tokenize -m $D/vocab/gemma3-vocab.gguf -p '<start_of_turn>user')" "2 105 2364"
# (ids of "<", "eos", ">" from the fixture case eos_text_no_special)
check "tokenize --no-parse-special" "$($MG tokenize -m $D/vocab/gemma3-vocab.gguf --no-bos --no-parse-special -p '<eos>')" "236820 211827 236813"
printf 'The patient has a fever.' > $T/p.txt
check "tokenize -f (trace prompt)" "$($MG tokenize -m $D/models/tiny-f32.gguf -f $T/p.txt)" "2 723 6118 720 401 1032 500 7602"

# logits: file of n_vocab floats, greedy ids equal to llama.cpp's
want=$(sed 's/.*"greedy_ids": \[\([^]]*\)\].*/\1/' $D/ref/text/tiny-q4_k_m.chat_short.json | tr -d ',')
printf '<start_of_turn>user\nWhat are the common symptoms of community-acquired pneumonia?<end_of_turn>\n<start_of_turn>model\n' > $T/chat.txt
got=$($MG logits -m $D/models/tiny-q4_k_m.gguf -f $T/chat.txt -o $T/l.bin --greedy 24 -t 2)
check "logits --greedy 24 (q4_k_m chat_short)" "$got" "greedy: $want"
check "logits file size" "$(wc -c < $T/l.bin | tr -d ' ')" "32768"
maxd=$(od -An -v -f -w4 $T/l.bin > $T/a; od -An -v -f -w4 $D/ref/text/tiny-q4_k_m.chat_short.logits.bin > $T/b; paste $T/a $T/b | awk '{d=$1-$2; if(d<0)d=-d; if(d>m)m=d} END{printf "%.6f", m}')
awk "BEGIN{exit !($maxd <= 1.0)}" && ok "logits file within the Q4_K_M tolerance of llama.cpp ($maxd)" || bad "logits file differs from llama.cpp by $maxd"

# inspect: metadata and tensor table
out=$($MG inspect $D/models/tiny-q4_k_m.gguf)
echo "$out" | grep -q 'general.architecture  *"gemma3"' && ok "inspect metadata" || bad "inspect metadata"
echo "$out" | grep -q 'token_embd.weight  *Q6_K *\[256, 8192\]' && ok "inspect tensor table" || bad "inspect tensor table"
echo "$out" | grep -q 'blk.0.attn_q.weight  *Q4_K' && ok "inspect Q4_K row" || bad "inspect Q4_K row"
$MG inspect $D/models/mmproj-tiny-f16.gguf | grep -q 'clip.projector_type  *"gemma3"' && ok "inspect a vision file" || bad "inspect a vision file"

# trace: every tap written with an index
$MG trace -m $D/models/tiny-f32.gguf -f $T/p.txt -o $T/trace > /dev/null && ok "trace runs" || bad "trace runs"
check "trace files" "$(ls $T/trace/*.bin | wc -l | tr -d ' ')" "88"
grep -q '"name": "l_out-5"' $T/trace/index.json && ok "trace index" || bad "trace index"
if cmp -s $T/trace/embd.bin $D/ref/trace/tensors/embd.bin; then ok "trace embd equals llama.cpp's"; else bad "trace embd"; fi

# generate: streams text, deterministic with a seed
a=$($MG generate -m $D/models/tiny-q8_0.gguf -p 'Chest pain' --chat --system 'You are a helpful medical assistant.' -n 12 --temp 0.9 --top-k 40 --seed 3)
b=$($MG generate -m $D/models/tiny-q8_0.gguf -p 'Chest pain' --chat --system 'You are a helpful medical assistant.' -n 12 --temp 0.9 --top-k 40 --seed 3)
[ -n "$a" ] && [ "$a" = "$b" ] && ok "generate seeded and deterministic" || bad "generate: [$a] vs [$b]"

# images: embed-image vs llama.cpp's embeddings; logits with <__image__> vs llama.cpp's image prompt
# (float products: llama.cpp's tolerance; the default bf16 products where the CPU has them: within 0.06)
od -An -v -f -w4 $D/ref/image/tiny-f32.img-xray-1024x768.image_embd.bin > $T/b
for f in --vision-f32 ""; do
  $MG embed-image --mmproj $D/models/mmproj-tiny-f32.gguf --image $D/images/img-xray-1024x768.png --image-mode llamacpp -o $T/e$f.bin -t 2 $f && ok "embed-image $f runs" || bad "embed-image $f"
  check "embed-image $f size (256 x 256 floats)" "$(wc -c < $T/e$f.bin | tr -d ' ')" "262144"
  od -An -v -f -w4 $T/e$f.bin > $T/a
  maxd=$(paste $T/a $T/b | awk '{d=$1-$2; if(d<0)d=-d; if(d>m)m=d} END{printf "%.6f", m}')
  tol=0.06; [ -n "$f" ] && tol=0.01
  awk "BEGIN{exit !($maxd <= $tol)}" && ok "embed-image $f within $tol of llama.cpp ($maxd)" || bad "embed-image $f differs by $maxd"
done
case "$($MG --version)" in *bf16*) cmp -s $T/e--vision-f32.bin $T/e.bin && bad "embed-image: the default products are float" || ok "embed-image: bf16 products by default";; esac
printf '<start_of_turn>user\n<__image__>Describe the findings in this image.<end_of_turn>\n<start_of_turn>model\n' > $T/ip.txt
want=$(sed 's/.*"greedy_ids": \[\([^]]*\)\].*/\1/' $D/ref/image/tiny-f32.img-small-300x200.json | tr -d ',')
got=$($MG logits -m $D/models/tiny-f32.gguf --mmproj $D/models/mmproj-tiny-f32.gguf --image $D/images/img-small-300x200.png --image-mode llamacpp -f $T/ip.txt --greedy 24 -t 2)
check "logits --image greedy ids (llama.cpp layout)" "$got" "greedy: $want"
$MG logits -m $D/models/tiny-f32.gguf -f $T/ip.txt --image $D/images/img-small-300x200.png > /dev/null 2> $T/err; [ $? -ne 0 ] && ok "image without mmproj fails" || bad "image without mmproj"

# bench: runs on the tiny model and prints the figures and the kernel path
out=$($MG bench -m $D/models/tiny-q4_k_m.gguf --mmproj $D/models/mmproj-tiny-f16.gguf -p 16 -n 4 --images 1 -r 1 -t 2)
for k in "prefill (pp)" "decode (tg)" "image encode" "peak RSS" "kernels: "; do
  case "$out" in *"$k"*) ok "bench prints $k";; *) bad "bench misses $k";; esac
done

# errors: clear messages and non-zero exits
$MG logits -m $D/no-such.gguf -p x > /dev/null 2> $T/err; [ $? -eq 1 ] && grep -qx "error: -m $D/no-such.gguf: cannot open: No such file or directory" $T/err && ok "missing model message" || bad "missing model message: $(cat $T/err)"
$MG logits -m $D/vocab/gemma3-vocab.gguf -p x > /dev/null 2>&1; [ $? -ne 0 ] && ok "vocab-only file refused for logits" || bad "vocab-only logits"
$MG frobnicate > /dev/null 2>&1; [ $? -eq 2 ] && ok "unknown command" || bad "unknown command"
rm -rf "$T"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
