// Command upstream-decode reads image-facts files the way a Go consumer of a support bundle
// would: with encoding/json into structs that carry upstream troubleshoot's field names and Go
// types (pkg/collect/images: FactsBundle, ImageFacts, Platform, LayerInfo, ConfigInfo,
// FactsSummary), written here from that field list. For each file argument it prints one JSON
// line: {"file", "images", "errors", "messages"} when the file decodes, {"file", "decodeError"}
// when it does not. It exits 1 when any file failed to decode.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// FactsBundle is one image-facts file.
type FactsBundle struct {
	Version     string       `json:"version"`
	GeneratedAt time.Time    `json:"generatedAt"`
	Namespace   string       `json:"namespace"`
	ImageFacts  []ImageFacts `json:"imageFacts"`
	Summary     FactsSummary `json:"summary"`
}

// FactsSummary holds the totals.
type FactsSummary struct {
	TotalImages        int   `json:"totalImages"`
	UniqueRegistries   int   `json:"uniqueRegistries"`
	UniqueRepositories int   `json:"uniqueRepositories"`
	TotalSize          int64 `json:"totalSize"`
	CollectionErrors   int   `json:"collectionErrors"`
}

// ImageFacts describes one image.
type ImageFacts struct {
	Repository    string            `json:"repository"`
	Tag           string            `json:"tag"`
	Digest        string            `json:"digest"`
	Registry      string            `json:"registry"`
	Size          int64             `json:"size"`
	Created       time.Time         `json:"created"`
	Labels        map[string]string `json:"labels"`
	Platform      Platform          `json:"platform"`
	MediaType     string            `json:"mediaType"`
	SchemaVersion int               `json:"schemaVersion"`
	Layers        []LayerInfo       `json:"layers,omitempty"`
	Config        ConfigInfo        `json:"config"`
	CollectedAt   time.Time         `json:"collectedAt"`
	Source        string            `json:"source"`
	Error         string            `json:"error,omitempty"`
}

// Platform is an image's os and architecture.
type Platform struct {
	Architecture string   `json:"architecture"`
	OS           string   `json:"os"`
	Variant      string   `json:"variant,omitempty"`
	OSVersion    string   `json:"osVersion,omitempty"`
	OSFeatures   []string `json:"osFeatures,omitempty"`
}

// LayerInfo is one layer.
type LayerInfo struct {
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
	MediaType string `json:"mediaType"`
}

// ConfigInfo is the runtime configuration.
type ConfigInfo struct {
	User         string              `json:"user,omitempty"`
	ExposedPorts map[string]struct{} `json:"exposedPorts,omitempty"`
	Env          []string            `json:"env,omitempty"`
	Entrypoint   []string            `json:"entrypoint,omitempty"`
	Cmd          []string            `json:"cmd,omitempty"`
	Volumes      map[string]struct{} `json:"volumes,omitempty"`
	WorkingDir   string              `json:"workingDir,omitempty"`
}

type result struct {
	File        string   `json:"file"`
	Images      int      `json:"images"`
	Errors      int      `json:"errors"`
	Messages    []string `json:"messages,omitempty"`
	Created     int      `json:"created"`
	DecodeError string   `json:"decodeError,omitempty"`
}

func main() {
	failed := false
	out := json.NewEncoder(os.Stdout)
	for _, path := range os.Args[1:] {
		r := result{File: path}
		data, err := os.ReadFile(path)
		if err == nil {
			var bundle FactsBundle
			err = json.Unmarshal(data, &bundle)
			if err == nil && bundle.Version != "v1" {
				err = fmt.Errorf("version %q, want v1", bundle.Version)
			}
			if err == nil && bundle.Summary.TotalImages != len(bundle.ImageFacts) {
				err = fmt.Errorf("summary.totalImages %d but %d imageFacts",
					bundle.Summary.TotalImages, len(bundle.ImageFacts))
			}
			for _, f := range bundle.ImageFacts {
				r.Images++
				if f.Error != "" {
					r.Errors++
					r.Messages = append(r.Messages, f.Error)
				}
				if !f.Created.IsZero() {
					r.Created++
				}
			}
		}
		if err != nil {
			r.DecodeError = err.Error()
			failed = true
		}
		_ = out.Encode(r)
	}
	if failed {
		os.Exit(1)
	}
}
