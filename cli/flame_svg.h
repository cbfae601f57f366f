/*
 * flame_svg.h - self-contained interactive flame graphs as one SVG file.
 *
 * A caller (zinst flame, zinst diff) builds a tree of frames with a weight
 * each; the writer lays it out, merges frames too narrow to read, and writes
 * SVG with an embedded script: click a frame to zoom into it, click the
 * root or "Reset zoom" to go back, "Search" (or Ctrl-F, "/") highlights
 * frames whose name matches a regular expression and shows the share of the
 * total they cover, hovering shows a frame's details. The script and the
 * layout are written here, not taken from elsewhere.
 *
 * The file carries the layout as data, so tests and tools can check it:
 * every frame is a <g class="frame"> with data-name, data-depth, and on its
 * <rect> data-x and data-w, the frame's offset and width in weight units
 * (exact integers; pixels are derived from them). Inlined frames have the
 * classes "frame inlined"; the legend, when there is one, is <g id="zf-legend">.
 */
#ifndef ZINST_FLAME_SVG_H
#define ZINST_FLAME_SVG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Differential frames whose change is within the noise are drawn grey. */
#define ZINST_FLAME_NOISE 0x1u
/* Code the compiler inlined into the parent frame: a cool color, a dashed
 * outline, class "inlined" (the legend explains it). */
#define ZINST_FLAME_INLINED 0x2u

struct zinst_flame_frame {
  uint32_t parent;       /* index of the parent frame; ZINST_NONE for the root */
  uint32_t first_child;  /* maintained by zinst_flame_add; ZINST_NONE if none */
  uint32_t next_sibling; /* ZINST_NONE at the end of the list */
  char *name;            /* owned: the label */
  char *details;         /* owned: tooltip text below the name, lines separated by '\n' */
  uint64_t weight;       /* width; at least the sum of the children's weights */
  double change;         /* differential graphs: -1 (all gone, blue) .. 0 .. +1 (red); else 0 */
  uint32_t flags;        /* ZINST_FLAME_* */
};

struct zinst_flame_graph {          /* owns frames and their strings */
  struct zinst_flame_frame *frames; /* frames[0] is the root */
  uint32_t count;
  uint32_t capacity; /* private */
};

struct zinst_flame_style {
  const char *title;       /* borrowed */
  const char *subtitle;    /* borrowed; may be NULL */
  const char *weight_unit; /* "cycles", "calls": for the merged frames' tooltips */
  bool icicle;             /* root at the top, callees below (top-down) */
  bool differential;       /* colors from change/flags instead of the name */
  uint32_t width_px;       /* image width; 0 = 1200 */
  double min_width_px;     /* frames narrower than this are merged; < 0 = 0.5 */
  const char *legend;      /* borrowed; NULL: none. A line below the subtitle */
  bool legend_swatch;      /* start the legend with a sample of an inlined frame */
};

struct zinst_flame_stats {
  uint32_t frames_drawn;  /* <g class="frame"> elements written, the root included */
  uint32_t frames_merged; /* frames folded into "small frames" boxes, their callees included */
  uint32_t merged_boxes;  /* such boxes drawn */
};

/*
 * Start a graph holding only the root frame, labelled `root_name` (copied)
 * with `root_details` (copied, may be NULL). Returns 0, or -1 when out of
 * memory (the graph is then empty; zinst_flame_free on it is safe).
 */
int zinst_flame_init(struct zinst_flame_graph *graph, const char *root_name,
                     const char *root_details);

/*
 * Append a frame under `parent` (an existing index); the graph takes
 * ownership of `name` and `details` (malloc'd, details may be NULL) even on
 * failure. Returns the new index, or ZINST_NONE when out of memory.
 */
uint32_t zinst_flame_add(struct zinst_flame_graph *graph, uint32_t parent, char *name,
                         char *details, uint64_t weight);

/* Release every frame and string and zero the graph. Safe on a zeroed graph. */
void zinst_flame_free(struct zinst_flame_graph *graph);

/*
 * Write `graph` as an SVG document to `out` (borrowed). Children are placed
 * in name order so two graphs of similar profiles look alike. `stats` may be
 * NULL. Returns 0, or -1 when out of memory or on a write error.
 */
int zinst_flame_write_svg(FILE *out, const struct zinst_flame_graph *graph,
                          const struct zinst_flame_style *style, struct zinst_flame_stats *stats);

/* Write `text` with XML escaping; bytes that are not valid UTF-8 and control
 * characters XML cannot hold become U+FFFD. */
void zinst_xml_write_escaped(FILE *out, const char *text);

#endif /* ZINST_FLAME_SVG_H */
