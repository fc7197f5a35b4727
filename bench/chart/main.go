// Command chart draws the benchmark chart: panels of grouped bars read
// from the chart.json that bench/peerbench writes, as a PNG.
//
//	go run . -in ../report/chart.json -out ../report/chart.png
//
// It is its own module so that the root go.mod does not carry an image
// library for a benchmark.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"path/filepath"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

type spec struct {
	Title  string   `json:"title"`
	Series []string `json:"series"`
	Panels []struct {
		Title  string `json:"title"`
		Groups []struct {
			Label  string    `json:"label"`
			Note   string    `json:"note"`
			Values []float64 `json:"values"`
		} `json:"groups"`
	} `json:"panels"`
}

func main() {
	in := flag.String("in", "bench/report/chart.json", "chart description from peerbench")
	out := flag.String("out", "bench/report/chart.png", "PNG to write")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintf(os.Stderr, "chart: %v\n", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	data, err := os.ReadFile(in)
	if err != nil {
		return fmt.Errorf("cannot read the chart description: %w", err)
	}
	var s spec
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("cannot parse %s: %w", in, err)
	}
	if len(s.Panels) == 0 {
		return errors.New("nothing to draw: no panels")
	}
	img := render(s)
	tmp := filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("cannot create %s: %w", tmp, err)
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("cannot encode the PNG: %w", err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}

// Layout, in pixels.
const (
	panelW   = 1400
	panelH   = 360
	columns  = 1
	headerH  = 70
	marginL  = 60
	marginR  = 20
	marginT  = 40
	marginB  = 52
	barGap   = 2
	groupPad = 18
)

var (
	white = color.RGBA{255, 255, 255, 255}
	black = color.RGBA{30, 30, 30, 255}
	grey  = color.RGBA{220, 220, 220, 255}
	// One colour per series: ours first and strongest.
	palette = []color.RGBA{
		{214, 39, 40, 255},   // finalize
		{255, 152, 150, 255}, // bare SDK
		{31, 119, 180, 255},  // aws CLI
		{44, 160, 44, 255},   // rclone
		{148, 103, 189, 255}, // mc
		{127, 127, 127, 255},
	}
)

func render(s spec) *image.RGBA {
	rows := (len(s.Panels) + columns - 1) / columns
	img := image.NewRGBA(image.Rect(0, 0, columns*panelW, headerH+rows*panelH))
	draw.Draw(img, img.Bounds(), image.NewUniform(white), image.Point{}, draw.Src)
	text(img, 10, 20, s.Title, black)
	x := 10
	for i, name := range s.Series {
		fill(img, image.Rect(x, 36, x+14, 50), palette[i%len(palette)])
		text(img, x+18, 48, name, black)
		x += 18 + 7*len(name) + 24
	}
	for i, p := range s.Panels {
		ox, oy := (i%columns)*panelW, headerH+(i/columns)*panelH
		plot := image.Rect(ox+marginL, oy+marginT, ox+panelW-marginR, oy+panelH-marginB)
		text(img, ox+marginL, oy+24, p.Title, black)
		top := 0.0
		for _, g := range p.Groups {
			for _, v := range g.Values {
				top = math.Max(top, v)
			}
		}
		top = niceCeil(top)
		// Grid lines with labels.
		for k := 0; k <= 4; k++ {
			v := top * float64(k) / 4
			y := plot.Max.Y - int(float64(plot.Dy())*float64(k)/4)
			fill(img, image.Rect(plot.Min.X, y, plot.Max.X, y+1), grey)
			label := fmt.Sprintf("%g", round(v))
			text(img, plot.Min.X-8-7*len(label), y+4, label, black)
		}
		groupW := plot.Dx() / max(len(p.Groups), 1)
		for gi, g := range p.Groups {
			gx := plot.Min.X + gi*groupW
			n := len(g.Values)
			barW := (groupW - 2*groupPad - (n-1)*barGap) / max(n, 1)
			for vi, v := range g.Values {
				bx := gx + groupPad + vi*(barW+barGap)
				h := 0
				if top > 0 {
					h = int(float64(plot.Dy()) * v / top)
				}
				fill(img, image.Rect(bx, plot.Max.Y-h, bx+barW, plot.Max.Y), palette[vi%len(palette)])
				if v > 0 && barW >= 20 {
					label := fmt.Sprintf("%g", round(v))
					text(img, bx+(barW-7*len(label))/2, plot.Max.Y-h-3, label, black)
				}
			}
			text(img, gx+(groupW-7*len(g.Label))/2, plot.Max.Y+18, g.Label, black)
			text(img, gx+(groupW-7*len(g.Note))/2, plot.Max.Y+34, g.Note, black)
		}
		fill(img, image.Rect(plot.Min.X, plot.Max.Y, plot.Max.X, plot.Max.Y+1), black)
	}
	return img
}

// round keeps three significant digits.
func round(v float64) float64 {
	if v == 0 {
		return 0
	}
	scale := math.Pow(10, 2-math.Floor(math.Log10(math.Abs(v))))
	return math.Round(v*scale) / scale
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src)
}

func text(img *image.RGBA, x, y int, s string, c color.RGBA) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}
