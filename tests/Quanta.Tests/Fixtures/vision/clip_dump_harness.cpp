// Dumps llama.cpp (Feb 2025) clip outputs for Quanta's vision tests.
// usage: dump MMPROJ IMAGE OUT_PREFIX
//   OUT_PREFIX.pre.f32   : clip_image_preprocess output, every sub-image (nx*ny*3 floats each, interleaved RGB), header-less
//   OUT_PREFIX.pre.txt   : "n nx ny" per sub-image
//   OUT_PREFIX.embd.f32  : llava_image_embed_make_with_clip_img output [n_pos][n_embd]
//   OUT_PREFIX.embd.txt  : "n_pos n_embd"
#include "clip.h"
#include "llava.h"
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>
#include <cstdint>

struct clip_image_f32 { int nx; int ny; std::vector<float> buf; };
struct clip_image_u8 { int nx; int ny; std::vector<uint8_t> buf; };

int main(int argc, char ** argv) {
    if (argc != 4) { fprintf(stderr, "usage: dump MMPROJ IMAGE OUT_PREFIX\n"); return 1; }
    clip_ctx * ctx = clip_model_load(argv[1], 0);
    if (!ctx) return 2;
    clip_image_u8 * img = clip_image_u8_init();
    if (!clip_image_load_from_file(argv[2], img)) return 3;
    std::string prefix = argv[3];
    clip_image_f32_batch batch{};
    if (!clip_image_preprocess(ctx, img, &batch)) return 4;
    FILE * f = fopen((prefix + ".pre.f32").c_str(), "wb");
    FILE * t = fopen((prefix + ".pre.txt").c_str(), "w");
    for (size_t i = 0; i < batch.size; i++) {
        fwrite(batch.data[i].buf.data(), sizeof(float), batch.data[i].buf.size(), f);
        fprintf(t, "%zu %d %d\n", i, batch.data[i].nx, batch.data[i].ny);
    }
    fclose(f); fclose(t);
    float * embd = nullptr; int n_pos = 0;
    if (!llava_image_embed_make_with_clip_img(ctx, 1, img, &embd, &n_pos)) return 5;
    int n_embd = clip_n_mmproj_embd(ctx);
    f = fopen((prefix + ".embd.f32").c_str(), "wb");
    fwrite(embd, sizeof(float), (size_t) n_pos * n_embd, f);
    fclose(f);
    t = fopen((prefix + ".embd.txt").c_str(), "w");
    fprintf(t, "%d %d\n", n_pos, n_embd);
    fclose(t);
    free(embd);
    clip_free(ctx);
    return 0;
}
