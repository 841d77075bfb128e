;; The hot loop of GaussianRng.fillNoisy (rng.ts) as WebAssembly: xoshiro128** and the ziggurat's
;; fast path, bit for bit the same arithmetic as rng.ts's definition (two 32-bit draws per value,
;; layer 7 bits, sign 1 bit, 52-bit magnitude; Q(z) = h * clamp(floor(z / h + 0.5))). The ~1% of
;; draws that need the wedges or the tail call back into JavaScript (`js.slow`, rng.ts's slowPath,
;; which reads and writes the generator state in this memory), so Math.log and Math.exp are the
;; same functions on both paths. Compiled to noise-kernel-wasm.ts by scripts/build-noise-kernel.ts.
;;
;; Memory layout (bytes): [0, 16) generator state s0..s3 (i32); [16, 1040) kn (128 f64);
;; [1040, 2064) wn (128 f64); from 4096 the centre, then the output (set by the caller).
(module
  (import "js" "slow" (func $slow (param f64 i32 i32) (result f64)))
  (memory (export "memory") 1)

  ;; out[i] = Q(center[i] + sigma * N(0, 1)) for i < n; center and out are byte addresses of f32 arrays
  (func (export "fill")
    (param $n i32) (param $center i32) (param $out i32)
    (param $sigma f64) (param $step f64) (param $inverse f64) (param $limit f64)
    (local $s0 i32) (local $s1 i32) (local $s2 i32) (local $s3 i32)
    (local $u i32) (local $v i32) (local $t i32) (local $iz i32) (local $end i32)
    (local $m f64) (local $g f64) (local $low f64)
    (local.set $s0 (i32.load (i32.const 0)))
    (local.set $s1 (i32.load (i32.const 4)))
    (local.set $s2 (i32.load (i32.const 8)))
    (local.set $s3 (i32.load (i32.const 12)))
    (local.set $low (f64.neg (local.get $limit)))
    (local.set $end (i32.add (local.get $center) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (br_if $done (i32.ge_u (local.get $center) (local.get $end)))
      (loop $next
        ;; u: one xoshiro128** step
        (local.set $u (i32.mul (i32.rotl (i32.mul (local.get $s1) (i32.const 5)) (i32.const 7)) (i32.const 9)))
        (local.set $t (i32.shl (local.get $s1) (i32.const 9)))
        (local.set $s2 (i32.xor (local.get $s2) (local.get $s0)))
        (local.set $s3 (i32.xor (local.get $s3) (local.get $s1)))
        (local.set $s1 (i32.xor (local.get $s1) (local.get $s2)))
        (local.set $s0 (i32.xor (local.get $s0) (local.get $s3)))
        (local.set $s2 (i32.xor (local.get $s2) (local.get $t)))
        (local.set $s3 (i32.rotl (local.get $s3) (i32.const 11)))
        ;; v: the next step
        (local.set $v (i32.mul (i32.rotl (i32.mul (local.get $s1) (i32.const 5)) (i32.const 7)) (i32.const 9)))
        (local.set $t (i32.shl (local.get $s1) (i32.const 9)))
        (local.set $s2 (i32.xor (local.get $s2) (local.get $s0)))
        (local.set $s3 (i32.xor (local.get $s3) (local.get $s1)))
        (local.set $s1 (i32.xor (local.get $s1) (local.get $s2)))
        (local.set $s0 (i32.xor (local.get $s0) (local.get $s3)))
        (local.set $s2 (i32.xor (local.get $s2) (local.get $t)))
        (local.set $s3 (i32.rotl (local.get $s3) (i32.const 11)))
        ;; m = (u >>> 8) * 2^28 + (v >>> 4), a 52-bit magnitude; iz = u & 127, the layer
        (local.set $m
          (f64.add
            (f64.mul (f64.convert_i32_u (i32.shr_u (local.get $u) (i32.const 8))) (f64.const 268435456))
            (f64.convert_i32_u (i32.shr_u (local.get $v) (i32.const 4)))))
        (local.set $iz (i32.shl (i32.and (local.get $u) (i32.const 127)) (i32.const 3)))
        (if (f64.lt (local.get $m) (f64.load offset=16 (local.get $iz)))
          (then
            ;; g = +-(m + 0.5) * wn[iz]: the sign bit u & 128 moved to bit 63 (no branch)
            (local.set $g
              (f64.reinterpret_i64
                (i64.xor
                  (i64.reinterpret_f64
                    (f64.mul (f64.add (local.get $m) (f64.const 0.5)) (f64.load offset=1040 (local.get $iz))))
                  (i64.shl (i64.extend_i32_u (i32.and (local.get $u) (i32.const 128))) (i64.const 56))))))
          (else
            (i32.store (i32.const 0) (local.get $s0))
            (i32.store (i32.const 4) (local.get $s1))
            (i32.store (i32.const 8) (local.get $s2))
            (i32.store (i32.const 12) (local.get $s3))
            (local.set $g
              (call $slow (local.get $m) (i32.and (local.get $u) (i32.const 127)) (i32.and (local.get $u) (i32.const 128))))
            (local.set $s0 (i32.load (i32.const 0)))
            (local.set $s1 (i32.load (i32.const 4)))
            (local.set $s2 (i32.load (i32.const 8)))
            (local.set $s3 (i32.load (i32.const 12)))))
        ;; out = h * clamp(floor((center + sigma * g) * (1 / h) + 0.5))
        (f32.store (local.get $out)
          (f32.demote_f64
            (f64.mul
              (f64.min (local.get $limit)
                (f64.max (local.get $low)
                  (f64.floor
                    (f64.add
                      (f64.mul
                        (f64.add (f64.promote_f32 (f32.load (local.get $center))) (f64.mul (local.get $sigma) (local.get $g)))
                        (local.get $inverse))
                      (f64.const 0.5)))))
              (local.get $step))))
        (local.set $center (i32.add (local.get $center) (i32.const 4)))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (br_if $next (i32.lt_u (local.get $center) (local.get $end)))))
    (i32.store (i32.const 0) (local.get $s0))
    (i32.store (i32.const 4) (local.get $s1))
    (i32.store (i32.const 8) (local.get $s2))
    (i32.store (i32.const 12) (local.get $s3)))
)
