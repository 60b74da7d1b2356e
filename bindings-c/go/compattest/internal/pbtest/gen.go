//go:build ignore

// Regenerates the .pb.go files of this folder without protoc: the .proto files are parsed
// with protoparse and handed to protoc-gen-go (on PATH: go install
// google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12) as protoc would. Run from this
// folder: go run gen.go
package main

import (
	"bytes"
	"log"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/jhump/protoreflect/desc"
	"github.com/jhump/protoreflect/desc/protoparse"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/pluginpb"
)

func main() {
	files := []string{"pbtest/common.proto", "pbtest/shapes.proto"}
	p := protoparse.Parser{ImportPaths: []string{".."}, IncludeSourceCodeInfo: true}
	fds, err := p.ParseFiles(files...)
	if err != nil {
		log.Fatal(err)
	}
	req := &pluginpb.CodeGeneratorRequest{FileToGenerate: files, Parameter: proto.String("paths=source_relative")}
	seen := map[string]bool{}
	var add func(fd *desc.FileDescriptor)
	add = func(fd *desc.FileDescriptor) {
		if seen[fd.GetName()] {
			return
		}
		seen[fd.GetName()] = true
		for _, d := range fd.GetDependencies() {
			add(d)
		}
		req.ProtoFile = append(req.ProtoFile, fd.AsFileDescriptorProto())
	}
	for _, fd := range fds {
		add(fd)
	}
	in, err := proto.Marshal(req)
	if err != nil {
		log.Fatal(err)
	}
	cmd := exec.Command("protoc-gen-go")
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		log.Fatal(err)
	}
	var resp pluginpb.CodeGeneratorResponse
	if err := proto.Unmarshal(out, &resp); err != nil {
		log.Fatal(err)
	}
	if resp.Error != nil {
		log.Fatal(resp.GetError())
	}
	for _, f := range resp.File {
		name := filepath.Join("..", f.GetName())
		if err := os.WriteFile(name, []byte(f.GetContent()), 0o644); err != nil {
			log.Fatal(err)
		}
		log.Println("wrote", name)
	}
}
