/* cipher-speed: how fast one core seals 1 MiB messages with libsodium's
 * authenticated ciphers, to set a replication rate against what
 * encryption alone costs. XSalsa20-Poly1305 is what ZeroMQ's CURVE seals
 * every message with (crypto_box_afternm); the others are the choices an
 * own framing would have. Prints "name MB/s" per line (MB = 10^6 bytes),
 * each measured for about half a second. Used by sync-bench. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { kMessage = 1 << 20, kOverhead = 64 };

static double Now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

typedef int (*SealFn)(unsigned char* out, const unsigned char* in, const unsigned char* nonce,
                      const unsigned char* key);

static int SealXsalsa(unsigned char* out, const unsigned char* in, const unsigned char* nonce,
                      const unsigned char* key) {
  return crypto_secretbox_easy(out, in, kMessage, nonce, key);
}

static int SealChacha(unsigned char* out, const unsigned char* in, const unsigned char* nonce,
                      const unsigned char* key) {
  return crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, in, kMessage, NULL, 0, NULL, nonce,
                                                   key);
}

static int SealAesGcm(unsigned char* out, const unsigned char* in, const unsigned char* nonce,
                      const unsigned char* key) {
  return crypto_aead_aes256gcm_encrypt(out, NULL, in, kMessage, NULL, 0, NULL, nonce, key);
}

/* MB/s of `seal` over whole messages for at least `seconds`. */
static double Measure(SealFn seal, const unsigned char* in, unsigned char* out,
                      const unsigned char* nonce, const unsigned char* key, double seconds) {
  const double start = Now();
  double elapsed = 0;
  long sealed = 0;
  while (elapsed < seconds) {
    if (seal(out, in, nonce, key) != 0) return 0;
    ++sealed;
    elapsed = Now() - start;
  }
  return (double)sealed * kMessage / elapsed / 1e6;
}

int main(void) {
  if (sodium_init() < 0) {
    fprintf(stderr, "cipher-speed: libsodium failed to initialise\n");
    return 1;
  }
  unsigned char* in = malloc(kMessage);
  unsigned char* out = malloc(kMessage + kOverhead);
  unsigned char key[32];
  unsigned char nonce[24];
  if (in == NULL || out == NULL) return 1;
  randombytes_buf(in, kMessage);
  randombytes_buf(key, sizeof key);
  randombytes_buf(nonce, sizeof nonce);
  printf("xsalsa20-poly1305 %.0f\n", Measure(SealXsalsa, in, out, nonce, key, 0.5));
  printf("chacha20-poly1305 %.0f\n", Measure(SealChacha, in, out, nonce, key, 0.5));
  if (crypto_aead_aes256gcm_is_available()) {
    printf("aes-256-gcm %.0f\n", Measure(SealAesGcm, in, out, nonce, key, 0.5));
  }
  free(in);
  free(out);
  return 0;
}
