;; The hot loop of GaussianRng.fillNoisy (rng.ts) in WebAssembly SIMD: four xoshiro128** generators
;; (lanes) side by side, coordinate i of a sample drawn by lane i mod 4, each lane exactly as rng.ts's
;; scalar `nextGaussian` (two 32-bit draws per value: layer 7 bits, sign 1 bit, 52-bit magnitude,
;; the ziggurat's fast test), then the grid snap Q(z) = h * clamp(floor(z / h + 0.5)). When a lane's
;; draw needs the wedges or the tail (~1% of draws) the group of four goes through `$lane`, which
;; calls back into JavaScript (`js.slow`, rng.ts's slowPath on that lane's state in this memory), so
;; Math.log and Math.exp are the same functions as in the scalar definition. Compiled to
;; noise-kernel-wasm.ts by scripts/build-noise-kernel.ts.
;;
;; Memory layout (bytes): [0, 64) the lanes' states, transposed: s0 of lanes 0-3, s1, s2, s3 (i32);
;; [64, 1088) kn (128 f64); [1088, 2112) wn (128 f64); from 4096 the centre, then the output (set by
;; the caller; lengths padded to a multiple of 4).
(module
  (import "js" "slow" (func $slow (param i32 f64 i32 i32) (result f64)))
  (memory (export "memory") 1)

  ;; One lane's N(0, 1) value from its draws u (layer, sign) and m (magnitude), scalar: the fast path,
  ;; or the slow path in JavaScript (the lanes' states must be in memory).
  (func $lane (param $lane i32) (param $u i32) (param $m f64) (result f64)
    (local $iz i32)
    (local.set $iz (i32.shl (i32.and (local.get $u) (i32.const 127)) (i32.const 3)))
    (if (result f64) (f64.lt (local.get $m) (f64.load offset=64 (local.get $iz)))
      (then
        (f64.reinterpret_i64
          (i64.xor
            (i64.reinterpret_f64 (f64.mul (f64.add (local.get $m) (f64.const 0.5)) (f64.load offset=1088 (local.get $iz))))
            (i64.shl (i64.extend_i32_u (i32.and (local.get $u) (i32.const 128))) (i64.const 56)))))
      (else
        (call $slow (local.get $lane) (local.get $m)
          (i32.and (local.get $u) (i32.const 127)) (i32.and (local.get $u) (i32.const 128))))))

  ;; out[i] = Q(center[i] + sigma * N(0, 1)) for i < n (n a multiple of 4); center and out are byte
  ;; addresses of f32 arrays
  (func (export "fill")
    (param $n i32) (param $center i32) (param $out i32)
    (param $sigma f64) (param $step f64) (param $inverse f64) (param $limit f64)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local $u v128) (local $v v128) (local $t v128) (local $iz v128)
    (local $mlo v128) (local $mhi v128) (local $glo v128) (local $ghi v128) (local $c v128)
    (local $sig v128) (local $inv v128) (local $lim v128) (local $low v128) (local $stp v128)
    (local $a i32) (local $b i32) (local $cc i32) (local $d i32) (local $end i32)
    (local.set $s0 (v128.load (i32.const 0)))
    (local.set $s1 (v128.load (i32.const 16)))
    (local.set $s2 (v128.load (i32.const 32)))
    (local.set $s3 (v128.load (i32.const 48)))
    (local.set $sig (f64x2.splat (local.get $sigma)))
    (local.set $inv (f64x2.splat (local.get $inverse)))
    (local.set $lim (f64x2.splat (local.get $limit)))
    (local.set $low (f64x2.splat (f64.neg (local.get $limit))))
    (local.set $stp (f64x2.splat (local.get $step)))
    (local.set $end (i32.add (local.get $center) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (br_if $done (i32.ge_u (local.get $center) (local.get $end)))
      (loop $next
        ;; u: one xoshiro128** step in every lane
        (local.set $t (i32x4.mul (local.get $s1) (v128.const i32x4 5 5 5 5)))
        (local.set $u
          (i32x4.mul
            (v128.or (i32x4.shl (local.get $t) (i32.const 7)) (i32x4.shr_u (local.get $t) (i32.const 25)))
            (v128.const i32x4 9 9 9 9)))
        (local.set $t (i32x4.shl (local.get $s1) (i32.const 9)))
        (local.set $s2 (v128.xor (local.get $s2) (local.get $s0)))
        (local.set $s3 (v128.xor (local.get $s3) (local.get $s1)))
        (local.set $s1 (v128.xor (local.get $s1) (local.get $s2)))
        (local.set $s0 (v128.xor (local.get $s0) (local.get $s3)))
        (local.set $s2 (v128.xor (local.get $s2) (local.get $t)))
        (local.set $s3 (v128.or (i32x4.shl (local.get $s3) (i32.const 11)) (i32x4.shr_u (local.get $s3) (i32.const 21))))
        ;; v: the next step
        (local.set $t (i32x4.mul (local.get $s1) (v128.const i32x4 5 5 5 5)))
        (local.set $v
          (i32x4.mul
            (v128.or (i32x4.shl (local.get $t) (i32.const 7)) (i32x4.shr_u (local.get $t) (i32.const 25)))
            (v128.const i32x4 9 9 9 9)))
        (local.set $t (i32x4.shl (local.get $s1) (i32.const 9)))
        (local.set $s2 (v128.xor (local.get $s2) (local.get $s0)))
        (local.set $s3 (v128.xor (local.get $s3) (local.get $s1)))
        (local.set $s1 (v128.xor (local.get $s1) (local.get $s2)))
        (local.set $s0 (v128.xor (local.get $s0) (local.get $s3)))
        (local.set $s2 (v128.xor (local.get $s2) (local.get $t)))
        (local.set $s3 (v128.or (i32x4.shl (local.get $s3) (i32.const 11)) (i32x4.shr_u (local.get $s3) (i32.const 21))))
        ;; m = (u >>> 8) * 2^28 + (v >>> 4): lanes 0-1 in mlo, lanes 2-3 in mhi
        (local.set $t (i32x4.shr_u (local.get $u) (i32.const 8)))
        (local.set $v (i32x4.shr_u (local.get $v) (i32.const 4)))
        (local.set $mlo
          (f64x2.add
            (f64x2.mul (f64x2.convert_low_i32x4_u (local.get $t)) (v128.const f64x2 268435456 268435456))
            (f64x2.convert_low_i32x4_u (local.get $v))))
        (local.set $mhi
          (f64x2.add
            (f64x2.mul
              (f64x2.convert_low_i32x4_u
                (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $t) (local.get $t)))
              (v128.const f64x2 268435456 268435456))
            (f64x2.convert_low_i32x4_u
              (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
        ;; the layers' byte offsets into the tables
        (local.set $iz (i32x4.shl (v128.and (local.get $u) (v128.const i32x4 127 127 127 127)) (i32.const 3)))
        (local.set $a (i32x4.extract_lane 0 (local.get $iz)))
        (local.set $b (i32x4.extract_lane 1 (local.get $iz)))
        (local.set $cc (i32x4.extract_lane 2 (local.get $iz)))
        (local.set $d (i32x4.extract_lane 3 (local.get $iz)))
        (if
          (i32.and
            (i64x2.all_true
              (f64x2.lt (local.get $mlo)
                (f64x2.replace_lane 1 (f64x2.splat (f64.load offset=64 (local.get $a))) (f64.load offset=64 (local.get $b)))))
            (i64x2.all_true
              (f64x2.lt (local.get $mhi)
                (f64x2.replace_lane 1 (f64x2.splat (f64.load offset=64 (local.get $cc))) (f64.load offset=64 (local.get $d))))))
          (then
            ;; all four accepted at once: g = +-(m + 0.5) * wn[iz], the sign bit u & 128 moved to bit 63
            (local.set $glo
              (v128.xor
                (f64x2.mul
                  (f64x2.add (local.get $mlo) (v128.const f64x2 0.5 0.5))
                  (f64x2.replace_lane 1 (f64x2.splat (f64.load offset=1088 (local.get $a))) (f64.load offset=1088 (local.get $b))))
                (i64x2.shl
                  (i64x2.extend_low_i32x4_u (v128.and (local.get $u) (v128.const i32x4 128 128 128 128)))
                  (i32.const 56))))
            (local.set $ghi
              (v128.xor
                (f64x2.mul
                  (f64x2.add (local.get $mhi) (v128.const f64x2 0.5 0.5))
                  (f64x2.replace_lane 1 (f64x2.splat (f64.load offset=1088 (local.get $cc))) (f64.load offset=1088 (local.get $d))))
                (i64x2.shl
                  (i64x2.extend_high_i32x4_u (v128.and (local.get $u) (v128.const i32x4 128 128 128 128)))
                  (i32.const 56)))))
          (else
            ;; some lane needs its slow path: lane by lane, with the states in memory
            (v128.store (i32.const 0) (local.get $s0))
            (v128.store (i32.const 16) (local.get $s1))
            (v128.store (i32.const 32) (local.get $s2))
            (v128.store (i32.const 48) (local.get $s3))
            (local.set $glo
              (f64x2.replace_lane 1
                (f64x2.splat
                  (call $lane (i32.const 0) (i32x4.extract_lane 0 (local.get $u)) (f64x2.extract_lane 0 (local.get $mlo))))
                (call $lane (i32.const 1) (i32x4.extract_lane 1 (local.get $u)) (f64x2.extract_lane 1 (local.get $mlo)))))
            (local.set $ghi
              (f64x2.replace_lane 1
                (f64x2.splat
                  (call $lane (i32.const 2) (i32x4.extract_lane 2 (local.get $u)) (f64x2.extract_lane 0 (local.get $mhi))))
                (call $lane (i32.const 3) (i32x4.extract_lane 3 (local.get $u)) (f64x2.extract_lane 1 (local.get $mhi)))))
            (local.set $s0 (v128.load (i32.const 0)))
            (local.set $s1 (v128.load (i32.const 16)))
            (local.set $s2 (v128.load (i32.const 32)))
            (local.set $s3 (v128.load (i32.const 48)))))
        ;; out = h * clamp(floor((center + sigma * g) * (1 / h) + 0.5)), four values
        (local.set $c (v128.load (local.get $center)))
        (local.set $glo
          (f64x2.mul
            (f64x2.pmin (local.get $lim)
              (f64x2.pmax (local.get $low)
                (f64x2.floor
                  (f64x2.add
                    (f64x2.mul
                      (f64x2.add (f64x2.promote_low_f32x4 (local.get $c)) (f64x2.mul (local.get $sig) (local.get $glo)))
                      (local.get $inv))
                    (v128.const f64x2 0.5 0.5)))))
            (local.get $stp)))
        (local.set $ghi
          (f64x2.mul
            (f64x2.pmin (local.get $lim)
              (f64x2.pmax (local.get $low)
                (f64x2.floor
                  (f64x2.add
                    (f64x2.mul
                      (f64x2.add
                        (f64x2.promote_low_f32x4
                          (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $c) (local.get $c)))
                        (f64x2.mul (local.get $sig) (local.get $ghi)))
                      (local.get $inv))
                    (v128.const f64x2 0.5 0.5)))))
            (local.get $stp)))
        (v128.store (local.get $out)
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
            (f32x4.demote_f64x2_zero (local.get $glo))
            (f32x4.demote_f64x2_zero (local.get $ghi))))
        (local.set $center (i32.add (local.get $center) (i32.const 16)))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (br_if $next (i32.lt_u (local.get $center) (local.get $end)))))
    (v128.store (i32.const 0) (local.get $s0))
    (v128.store (i32.const 16) (local.get $s1))
    (v128.store (i32.const 32) (local.get $s2))
    (v128.store (i32.const 48) (local.get $s3)))
)
