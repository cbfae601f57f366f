/*
 * flame_svg.c - flame graph layout and the SVG + script writer.
 *
 * Layout: a frame's children sit side by side from its left edge, in name
 * order; each is as wide as its weight. Children narrower than the minimum
 * width are not drawn one by one: a parent's narrow children become one grey
 * box ("N small frames"), so a profile of a million contexts still gives a
 * file a browser opens at once, and no weight disappears. Pixels are derived
 * from integer weight offsets, which the file also carries (data-x, data-w)
 * so the script can zoom exactly and a test can check the layout.
 *
 * Walks use explicit stacks: call trees can be deeper than the C stack.
 */
#include "flame_svg.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "zinst_format.h"

enum {
  FRAME_HEIGHT = 16,
  FONT_SIZE = 12,
  PAD = 10,           /* left and right margin */
  TOP_MARGIN = 54,    /* title, subtitle, buttons */
  LEGEND_HEIGHT = 18, /* the legend line, when there is one, below the subtitle */
  BOTTOM_MARGIN = 28, /* the details line */
};
/* Average advance of the sans-serif font at FONT_SIZE: for fitting labels. */
static const double char_width = 0.59 * FONT_SIZE;

int zinst_flame_init(struct zinst_flame_graph *graph, const char *root_name,
                     const char *root_details) {
  memset(graph, 0, sizeof *graph);
  char *name = strdup(root_name);
  char *details = root_details ? strdup(root_details) : NULL;
  graph->frames = malloc(64 * sizeof *graph->frames);
  if (!name || (root_details && !details) || !graph->frames) {
    free(name);
    free(details);
    free(graph->frames);
    graph->frames = NULL;
    return -1;
  }
  graph->capacity = 64;
  graph->count = 1;
  graph->frames[0] = (struct zinst_flame_frame){.parent = ZINST_NONE,
                                                .first_child = ZINST_NONE,
                                                .next_sibling = ZINST_NONE,
                                                .name = name,
                                                .details = details};
  return 0;
}

uint32_t zinst_flame_add(struct zinst_flame_graph *graph, uint32_t parent, char *name,
                         char *details, uint64_t weight) {
  if (!name || graph->count >= ZINST_NONE - 1 || parent >= graph->count) {
    free(name);
    free(details);
    return ZINST_NONE;
  }
  if (graph->count == graph->capacity) {
    const uint32_t capacity = graph->capacity * 2;
    struct zinst_flame_frame *frames = realloc(graph->frames, (size_t)capacity * sizeof *frames);
    if (!frames) {
      free(name);
      free(details);
      return ZINST_NONE;
    }
    graph->frames = frames;
    graph->capacity = capacity;
  }
  const uint32_t index = graph->count++;
  graph->frames[index] =
      (struct zinst_flame_frame){.parent = parent,
                                 .first_child = ZINST_NONE,
                                 .next_sibling = graph->frames[parent].first_child,
                                 .name = name,
                                 .details = details,
                                 .weight = weight};
  graph->frames[parent].first_child = index;
  return index;
}

void zinst_flame_free(struct zinst_flame_graph *graph) {
  if (!graph)
    return;
  for (uint32_t i = 0; i < graph->count; i++) {
    free(graph->frames[i].name);
    free(graph->frames[i].details);
  }
  free(graph->frames);
  memset(graph, 0, sizeof *graph);
}

/* Length of the valid UTF-8 sequence at `s` (1..4), or 0 if it is not one. */
static size_t utf8_sequence(const unsigned char *s) {
  if (s[0] < 0x80)
    return 1;
  size_t length;
  uint32_t code;
  if ((s[0] & 0xe0) == 0xc0) {
    length = 2;
    code = s[0] & 0x1f;
  } else if ((s[0] & 0xf0) == 0xe0) {
    length = 3;
    code = s[0] & 0x0f;
  } else if ((s[0] & 0xf8) == 0xf0) {
    length = 4;
    code = s[0] & 0x07;
  } else {
    return 0;
  }
  for (size_t i = 1; i < length; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    code = (code << 6) | (s[i] & 0x3f);
  }
  static const uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code < smallest[length] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
    return 0;
  return length;
}

/* Escape at most `max_chars` characters of `text` (SIZE_MAX: all). */
static void write_escaped_prefix(FILE *out, const char *text, size_t max_chars) {
  const unsigned char *s = (const unsigned char *)text;
  for (size_t chars = 0; *s && chars < max_chars; chars++) {
    const size_t length = utf8_sequence(s);
    if (length == 0) {
      fputs("\xef\xbf\xbd", out);
      s++;
      continue;
    }
    switch (*s) {
    case '&':
      fputs("&amp;", out);
      break;
    case '<':
      fputs("&lt;", out);
      break;
    case '>':
      fputs("&gt;", out);
      break;
    case '"':
      fputs("&quot;", out);
      break;
    case '\'':
      fputs("&apos;", out);
      break;
    default:
      if (*s < 0x20 && *s != '\n' && *s != '\t')
        fputs("\xef\xbf\xbd", out); /* XML 1.0 cannot hold other control characters */
      else
        fwrite(s, 1, length, out);
    }
    s += length;
  }
}

void zinst_xml_write_escaped(FILE *out, const char *text) {
  write_escaped_prefix(out, text, SIZE_MAX);
}

static size_t utf8_char_count(const char *text) {
  size_t count = 0;
  for (const unsigned char *s = (const unsigned char *)text; *s; count++) {
    const size_t length = utf8_sequence(s);
    s += length ? length : 1;
  }
  return count;
}

/* The label that fits `width_px`: the name, its beginning and "..", or nothing. */
static void write_label(FILE *out, const char *name, double width_px) {
  const double room = (width_px - 6) / char_width;
  if (room < 3)
    return;
  const size_t fit = (size_t)room;
  if (utf8_char_count(name) <= fit) {
    zinst_xml_write_escaped(out, name);
    return;
  }
  write_escaped_prefix(out, name, fit - 2);
  fputs("..", out);
}

static uint32_t name_hash(const char *name) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (const unsigned char *s = (const unsigned char *)name; *s; s++)
    h = (h ^ *s) * 16777619u;
  return h;
}

/* Warm colors, fixed per name, so a function has one color in every graph. */
static void name_color(const char *name, unsigned rgb[3]) {
  const uint32_t h = name_hash(name);
  rgb[0] = 205 + (h % 51);
  rgb[1] = 60 + ((h >> 8) % 150);
  rgb[2] = 20 + ((h >> 16) % 40);
}

/* Inlined code: cool colors, so it stands apart from the warm frames that
 * were real calls; fixed per name like those. */
static void inlined_color(const char *name, unsigned rgb[3]) {
  const uint32_t h = name_hash(name);
  rgb[0] = 70 + (h % 60);
  rgb[1] = 170 + ((h >> 8) % 50);
  rgb[2] = 215 + ((h >> 16) % 41);
}

static void differential_color(const struct zinst_flame_frame *frame, unsigned rgb[3]) {
  if (frame->flags & ZINST_FLAME_NOISE || frame->change == 0) {
    rgb[0] = rgb[1] = rgb[2] = 224;
    return;
  }
  double strength = frame->change < 0 ? -frame->change : frame->change;
  if (strength > 1)
    strength = 1;
  strength = 0.2 + 0.8 * strength; /* a real change is never white */
  const unsigned faded = (unsigned)(255 * (1 - strength) + 0.5);
  if (frame->change > 0) {
    rgb[0] = 255;
    rgb[1] = rgb[2] = faded;
  } else {
    rgb[0] = rgb[1] = faded;
    rgb[2] = 255;
  }
}

/* The script: no library, nothing loaded from elsewhere. Frames are found through their data. */
static const char script[] =
    "'use strict';\n"
    "(function () {\n"
    "  var svg = document.getElementById('zinst-flame');\n"
    "  var total = Number(svg.getAttribute('data-total')) || 1;\n"
    "  var graphWidth = Number(svg.getAttribute('data-graph-width'));\n"
    "  var pad = Number(svg.getAttribute('data-pad'));\n"
    "  var charWidth = Number(svg.getAttribute('data-char-width'));\n"
    "  var details = document.getElementById('zf-details');\n"
    "  var matched = document.getElementById('zf-matched');\n"
    "  var resetZoomButton = document.getElementById('zf-reset-zoom');\n"
    "  var resetSearchButton = document.getElementById('zf-reset-search');\n"
    "  var frames = [];\n"
    "  var nodes = svg.querySelectorAll('g.frame');\n"
    "  for (var i = 0; i < nodes.length; i++) {\n"
    "    var g = nodes[i], rect = g.querySelector('rect');\n"
    "    frames.push({g: g, rect: rect, text: g.querySelector('text'),\n"
    "                 name: g.getAttribute('data-name'),\n"
    "                 depth: Number(g.getAttribute('data-depth')),\n"
    "                 x: Number(rect.getAttribute('data-x')),\n"
    "                 w: Number(rect.getAttribute('data-w')),\n"
    "                 summary: g.getAttribute('data-summary') || ''});\n"
    "    g.zinstFrame = frames[i];\n"
    "  }\n"
    "  var zoomed = null, lastSearch = '';\n"
    "  function label(f, width) {\n"
    "    var room = Math.floor((width - 6) / charWidth);\n"
    "    if (room < 3) return '';\n"
    "    var chars = Array.from(f.name);\n"
    "    return chars.length <= room ? f.name : chars.slice(0, room - 2).join('') + '..';\n"
    "  }\n"
    "  function place(f, x, width) {\n"
    "    f.rect.setAttribute('x', x.toFixed(2));\n"
    "    f.rect.setAttribute('width', width.toFixed(2));\n"
    "    f.text.setAttribute('x', (x + 3).toFixed(2));\n"
    "    f.text.textContent = label(f, width);\n"
    "  }\n"
    "  function zoom(target) {\n"
    "    var scale = graphWidth / (target.w || 1);\n"
    "    frames.forEach(function (f) {\n"
    "      var inside = f.depth >= target.depth && f.x >= target.x &&\n"
    "                   f.x + f.w <= target.x + target.w;\n"
    "      var above = f.depth < target.depth && f.x <= target.x &&\n"
    "                  f.x + f.w >= target.x + target.w;\n"
    "      if (inside) {\n"
    "        f.g.style.display = '';\n"
    "        f.g.classList.remove('ancestor');\n"
    "        place(f, pad + (f.x - target.x) * scale, f.w * scale);\n"
    "      } else if (above) {\n"
    "        f.g.style.display = '';\n"
    "        f.g.classList.add('ancestor');\n"
    "        place(f, pad, graphWidth);\n"
    "      } else {\n"
    "        f.g.style.display = 'none';\n"
    "      }\n"
    "    });\n"
    "    zoomed = target.depth === 0 ? null : target;\n"
    "    resetZoomButton.style.display = zoomed ? '' : 'none';\n"
    "  }\n"
    "  function resetZoom() { zoom(frames[0]); }\n"
    "  function search(term) {\n"
    "    lastSearch = term;\n"
    "    if (!term) { clearSearch(); return 0; }\n"
    "    var pattern = null;\n"
    "    try { pattern = new RegExp(term); } catch (e) { pattern = null; }\n"
    "    var ranges = [];\n"
    "    frames.forEach(function (f) {\n"
    "      var hit = f.depth > 0 &&\n"
    "                (pattern ? pattern.test(f.name) : f.name.indexOf(term) >= 0);\n"
    "      f.g.classList.toggle('match', hit);\n"
    "      if (hit) ranges.push([f.x, f.x + f.w]);\n"
    "    });\n"
    "    /* Nested matches cover their ancestors' ranges: count the union once. */\n"
    "    ranges.sort(function (a, b) { return a[0] - b[0]; });\n"
    "    var covered = 0, end = -1;\n"
    "    ranges.forEach(function (r) {\n"
    "      if (r[0] >= end) { covered += r[1] - r[0]; end = r[1]; }\n"
    "      else if (r[1] > end) { covered += r[1] - end; end = r[1]; }\n"
    "    });\n"
    "    var share = 100 * covered / total;\n"
    "    matched.textContent = 'Matched: ' + share.toFixed(1) + '% (' + ranges.length +\n"
    "                          ' frames)';\n"
    "    resetSearchButton.style.display = '';\n"
    "    return share;\n"
    "  }\n"
    "  function clearSearch() {\n"
    "    frames.forEach(function (f) { f.g.classList.remove('match'); });\n"
    "    matched.textContent = '';\n"
    "    resetSearchButton.style.display = 'none';\n"
    "  }\n"
    "  function askSearch() {\n"
    "    var term = window.prompt('Search (regular expression)', lastSearch);\n"
    "    if (term !== null) search(term);\n"
    "  }\n"
    "  function frameOf(node) {\n"
    "    while (node && node !== svg) {\n"
    "      if (node.zinstFrame) return node.zinstFrame;\n"
    "      node = node.parentNode;\n"
    "    }\n"
    "    return null;\n"
    "  }\n"
    "  svg.addEventListener('click', function (event) {\n"
    "    var f = frameOf(event.target);\n"
    "    if (f) zoom(f);\n"
    "  });\n"
    "  svg.addEventListener('mouseover', function (event) {\n"
    "    var f = frameOf(event.target);\n"
    "    details.textContent = f ? f.name + '  ' + f.summary : ' ';\n"
    "  });\n"
    "  resetZoomButton.addEventListener('click', resetZoom);\n"
    "  resetSearchButton.addEventListener('click', clearSearch);\n"
    "  document.getElementById('zf-search').addEventListener('click', askSearch);\n"
    "  window.addEventListener('keydown', function (event) {\n"
    "    if ((event.ctrlKey && event.key === 'f') || event.key === '/') {\n"
    "      event.preventDefault();\n"
    "      askSearch();\n"
    "    } else if (event.key === 'Escape') {\n"
    "      clearSearch();\n"
    "      resetZoom();\n"
    "    }\n"
    "  });\n"
    "  /* For tests and for embedding pages. */\n"
    "  window.zinstFlame = {\n"
    "    frames: frames, zoom: zoom, resetZoom: resetZoom, search: search,\n"
    "    clearSearch: clearSearch,\n"
    "    zoomed: function () { return zoomed; }\n"
    "  };\n"
    "})();\n";

static const char stylesheet[] =
    "  text { font-family: 'DejaVu Sans', Verdana, sans-serif; font-size: 12px; fill: #000; }\n"
    "  #zf-title { font-size: 17px; }\n"
    "  #zf-subtitle { fill: #555; }\n"
    "  .button { cursor: pointer; fill: #1a4fa0; text-decoration: underline; }\n"
    "  g.frame { cursor: pointer; }\n"
    "  g.frame text { pointer-events: none; }\n"
    "  g.frame:hover rect { stroke: #000; stroke-width: 0.6; }\n"
    "  g.frame.inlined rect, #zf-legend rect { stroke: #2a5d84; stroke-width: 0.8;\n"
    "    stroke-dasharray: 3 2; }\n"
    "  g.frame.match rect { fill: rgb(230, 0, 230); }\n"
    "  g.frame.ancestor { opacity: 0.55; }\n";

/* A frame as the layout places it. */
struct placed {
  uint32_t frame; /* ZINST_NONE: a box of merged small frames */
  uint32_t depth;
  uint64_t x;              /* weight units from the left edge */
  uint64_t weight;         /* width in weight units */
  uint32_t merged;         /* small frames in the box (their subtrees included) */
  uint32_t boxed_siblings; /* direct children folded into the box */
};

struct layout {
  const struct zinst_flame_graph *graph;
  const struct zinst_flame_style *style;
  double graph_width; /* pixels for the whole weight */
  double scale;       /* pixels per weight unit */
  uint64_t total;     /* the root's weight */
  uint32_t max_depth; /* deepest placed frame */
  uint32_t height;    /* pixels */
  uint32_t top;       /* pixels above the frames: title, subtitle, legend */
};

static int compare_by_name(const void *a, const void *b, const struct zinst_flame_frame *frames) {
  const uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  const int order = strcmp(frames[x].name, frames[y].name);
  if (order != 0)
    return order;
  return x < y ? -1 : x > y;
}

/* qsort has no context argument in C11: the frames are passed through this. */
static const struct zinst_flame_frame *sort_frames;
static int compare_children(const void *a, const void *b) {
  return compare_by_name(a, b, sort_frames);
}

static double frame_pixels(const struct layout *layout, uint64_t weight) {
  return (double)weight * layout->scale;
}

static void write_frame(FILE *out, const struct layout *layout, const struct placed *p) {
  const struct zinst_flame_graph *graph = layout->graph;
  const struct zinst_flame_frame *frame = p->frame == ZINST_NONE ? NULL : &graph->frames[p->frame];
  const double x = PAD + frame_pixels(layout, p->x);
  const double width = frame_pixels(layout, p->weight);
  const double y = layout->style->icicle ? layout->top + (double)p->depth * FRAME_HEIGHT
                                         : (double)layout->height - BOTTOM_MARGIN -
                                               (double)(p->depth + 1) * FRAME_HEIGHT;
  char *box_name = NULL;
  if (!frame) {
    box_name = malloc(64);
    if (box_name)
      snprintf(box_name, 64, "[%" PRIu32 " small frames]", p->merged);
  }
  const char *name = frame ? frame->name : box_name ? box_name : "[small frames]";
  unsigned rgb[3];
  if (!frame)
    rgb[0] = rgb[1] = rgb[2] = 190;
  else if (p->depth == 0)
    rgb[0] = rgb[1] = rgb[2] = 210;
  else if (layout->style->differential)
    differential_color(frame, rgb);
  else if (frame->flags & ZINST_FLAME_INLINED)
    inlined_color(frame->name, rgb);
  else
    name_color(frame->name, rgb);

  const double share = layout->total ? 100.0 * (double)p->weight / (double)layout->total : 0;
  fprintf(out, "<g class=\"frame%s\" data-depth=\"%" PRIu32 "\" data-name=\"",
          !frame                               ? " merged"
          : frame->flags & ZINST_FLAME_INLINED ? " inlined"
                                               : "",
          p->depth);
  zinst_xml_write_escaped(out, name);
  fprintf(out, "\" data-summary=\"%.2f%%", share);
  if (frame && frame->details) {
    /* The hover line: the tooltip's first line of details. */
    const char *end = strchr(frame->details, '\n');
    char *first = end ? strndup(frame->details, (size_t)(end - frame->details)) : NULL;
    fputs(", ", out);
    zinst_xml_write_escaped(out, first ? first : frame->details);
    free(first);
  }
  fputs("\"><title>", out);
  zinst_xml_write_escaped(out, name);
  fprintf(out, "\n%" PRIu64 " %s, %.2f%% of the total", p->weight,
          layout->style->weight_unit ? layout->style->weight_unit : "", share);
  if (frame && frame->details) {
    fputc('\n', out);
    zinst_xml_write_escaped(out, frame->details);
  } else if (!frame) {
    fprintf(out,
            "\n%" PRIu32 " calling contexts under %" PRIu32
            " sibling frames, each narrower than %.2g px, drawn as one box "
            "(zinst flame --min-width 0 draws them all)",
            p->merged, p->boxed_siblings, layout->style->min_width_px);
  }
  fprintf(out,
          "</title><rect x=\"%.2f\" y=\"%.0f\" width=\"%.2f\" height=\"%d\" rx=\"2\" "
          "fill=\"rgb(%u,%u,%u)\" data-x=\"%" PRIu64 "\" data-w=\"%" PRIu64
          "\"/><text x=\"%.2f\" y=\"%.0f\">",
          x, y, width, FRAME_HEIGHT - 1, rgb[0], rgb[1], rgb[2], p->x, p->weight, x + 3,
          y + FRAME_HEIGHT - 4);
  write_label(out, name, width);
  fputs("</text></g>\n", out);
  free(box_name);
}

int zinst_flame_write_svg(FILE *out, const struct zinst_flame_graph *graph,
                          const struct zinst_flame_style *style_in,
                          struct zinst_flame_stats *stats_out) {
  struct zinst_flame_style style = *style_in;
  if (style.width_px == 0)
    style.width_px = 1200;
  if (style.min_width_px < 0)
    style.min_width_px = 0.5;
  struct zinst_flame_stats stats = {0};
  const uint32_t n = graph->count;

  /* Frames in each subtree, to report how many a merged box stands for. */
  uint32_t *subtree = malloc((size_t)n * sizeof *subtree);
  uint32_t *children = malloc((size_t)n * sizeof *children);
  struct placed *stack = malloc((size_t)n * sizeof *stack);
  if (!subtree || !children || !stack) {
    free(subtree);
    free(children);
    free(stack);
    return -1;
  }
  for (uint32_t i = 0; i < n; i++)
    subtree[i] = 1;
  for (uint32_t i = n; i-- > 1;)
    subtree[graph->frames[i].parent] += subtree[i];

  struct layout layout = {.graph = graph, .style = &style};
  layout.top = TOP_MARGIN + (style.legend ? LEGEND_HEIGHT : 0);
  layout.total = graph->frames[0].weight;
  layout.graph_width = (double)style.width_px - 2 * PAD;
  layout.scale = layout.total ? layout.graph_width / (double)layout.total : 0;
  const double min_weight = layout.scale > 0 ? style.min_width_px / layout.scale : 0;

  /* First pass: the depth of the deepest drawn frame fixes the height. The
   * second pass writes; both place frames the same way. */
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 1) {
      layout.height = layout.top + (layout.max_depth + 1) * FRAME_HEIGHT + BOTTOM_MARGIN;
      fprintf(out,
              "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
              "<svg id=\"zinst-flame\" version=\"1.1\" width=\"%" PRIu32 "\" height=\"%" PRIu32
              "\" viewBox=\"0 0 %" PRIu32 " %" PRIu32
              "\" xmlns=\"http://www.w3.org/2000/svg\" data-total=\"%" PRIu64
              "\" data-graph-width=\"%.2f\" data-pad=\"%d\" data-char-width=\"%.3f\" "
              "data-icicle=\"%d\" data-differential=\"%d\">\n"
              "<style>\n%s</style>\n"
              "<rect x=\"0\" y=\"0\" width=\"100%%\" height=\"100%%\" fill=\"#f8f8f4\"/>\n",
              style.width_px, layout.height, style.width_px, layout.height, layout.total,
              layout.graph_width, PAD, char_width, style.icicle ? 1 : 0, style.differential ? 1 : 0,
              stylesheet);
      fprintf(out, "<text id=\"zf-title\" x=\"%" PRIu32 "\" y=\"22\" text-anchor=\"middle\">",
              style.width_px / 2);
      zinst_xml_write_escaped(out, style.title ? style.title : "");
      fprintf(out,
              "</text>\n<text id=\"zf-subtitle\" x=\"%" PRIu32
              "\" y=\"40\" text-anchor=\"middle\">",
              style.width_px / 2);
      zinst_xml_write_escaped(out, style.subtitle ? style.subtitle : "");
      fputs("</text>\n", out);
      if (style.legend) {
        /* Centered by the estimated width, the swatch just before the text. */
        const double swatch = style.legend_swatch ? 24 : 0;
        double x =
            (style.width_px - swatch - char_width * (double)utf8_char_count(style.legend)) / 2;
        if (x < PAD)
          x = PAD;
        fputs("<g id=\"zf-legend\">", out);
        if (style.legend_swatch) {
          unsigned rgb[3];
          inlined_color("", rgb);
          fprintf(out,
                  "<rect x=\"%.2f\" y=\"%d\" width=\"18\" height=\"11\" fill=\"rgb(%u,%u,%u)\"/>",
                  x, TOP_MARGIN - 6, rgb[0], rgb[1], rgb[2]);
        }
        fprintf(out, "<text x=\"%.2f\" y=\"%d\">", x + swatch, TOP_MARGIN + 4);
        zinst_xml_write_escaped(out, style.legend);
        fputs("</text></g>\n", out);
      }
      fprintf(out,
              "<text id=\"zf-reset-zoom\" class=\"button\" x=\"%d\" y=\"22\" "
              "style=\"display:none\">Reset zoom</text>\n"
              "<text id=\"zf-search\" class=\"button\" x=\"%" PRIu32
              "\" y=\"22\" text-anchor=\"end\">Search</text>\n"
              "<text id=\"zf-reset-search\" class=\"button\" x=\"%" PRIu32
              "\" y=\"40\" text-anchor=\"end\" style=\"display:none\">Reset search</text>\n"
              "<text id=\"zf-details\" x=\"%d\" y=\"%" PRIu32 "\"> </text>\n"
              "<text id=\"zf-matched\" x=\"%" PRIu32 "\" y=\"%" PRIu32
              "\" text-anchor=\"end\"></text>\n<g id=\"zf-frames\">\n",
              PAD, style.width_px - PAD, style.width_px - PAD, PAD, layout.height - 9,
              style.width_px - PAD, layout.height - 9);
    }
    uint32_t depth = 0;
    stack[depth++] = (struct placed){.frame = 0, .depth = 0, .x = 0, .weight = layout.total};
    while (depth > 0) {
      const struct placed p = stack[--depth];
      if (pass == 0) {
        if (p.depth > layout.max_depth)
          layout.max_depth = p.depth;
      } else {
        write_frame(out, &layout, &p);
        stats.frames_drawn++;
      }
      if (p.frame == ZINST_NONE)
        continue;
      uint32_t child_count = 0;
      for (uint32_t c = graph->frames[p.frame].first_child; c != ZINST_NONE;
           c = graph->frames[c].next_sibling)
        children[child_count++] = c;
      sort_frames = graph->frames;
      qsort(children, child_count, sizeof *children, compare_children);
      struct placed box = {.frame = ZINST_NONE, .depth = p.depth + 1};
      uint64_t cursor = p.x;
      /* Pushed in reverse so the output runs left to right. */
      const uint32_t first_pushed = depth;
      for (uint32_t k = 0; k < child_count; k++) {
        const struct zinst_flame_frame *child = &graph->frames[children[k]];
        if (child->weight == 0)
          continue; /* no width: nothing to draw, nothing lost */
        if ((double)child->weight < min_weight) {
          box.weight += child->weight;
          box.merged += subtree[children[k]];
          box.boxed_siblings++;
          continue;
        }
        stack[depth++] = (struct placed){children[k], p.depth + 1, cursor, child->weight, 0, 0};
        cursor += child->weight;
      }
      for (uint32_t a = first_pushed, b = depth; a + 1 < b; a++, b--) {
        const struct placed swap = stack[a];
        stack[a] = stack[b - 1];
        stack[b - 1] = swap;
      }
      if (box.merged) {
        box.x = cursor;
        if (pass == 0) {
          if (box.depth > layout.max_depth)
            layout.max_depth = box.depth;
        } else {
          write_frame(out, &layout, &box);
          stats.frames_drawn++;
          stats.merged_boxes++;
          stats.frames_merged += box.merged;
        }
      }
    }
  }
  /* The script comes last: it runs when the parser reaches it, and finds
   * every frame already there. */
  fprintf(out, "</g>\n<script><![CDATA[\n%s]]></script>\n</svg>\n", script);
  free(subtree);
  free(children);
  free(stack);
  if (stats_out)
    *stats_out = stats;
  return ferror(out) ? -1 : 0;
}
