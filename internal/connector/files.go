package connector

import "context"

// InvokeFunc is an operation's implementation.
type InvokeFunc = func(ctx context.Context, conn Connection, inputs map[string]any) (any, error)

// FileOperations describes the file operations that file-store connectors
// share (listFiles, readFile, writeFile, moveFile, deleteFile), so that their
// inputs and outputs are one contract whatever holds the files. invoke
// returns each operation's implementation by id.
func FileOperations(invoke func(id string) InvokeFunc) []Operation {
	path := func(desc string) map[string]any {
		return map[string]any{"type": "string", "minLength": 1, "description": desc}
	}
	enc := map[string]any{"type": "string", "enum": []string{"text", "base64"}, "default": "text"}
	fileInfo := map[string]any{"type": "object", "properties": map[string]any{
		"name": map[string]any{"type": "string"}, "path": map[string]any{"type": "string"}, "size": map[string]any{"type": "integer"},
		"modified": map[string]any{"type": "string", "format": "date-time"}, "isFolder": map[string]any{"type": "boolean"},
	}}
	obj := func(required []string, props map[string]any) Schema {
		s := Schema{"type": "object", "properties": props}
		if required != nil {
			s["required"] = required
		}
		return s
	}
	ops := []Operation{
		{ID: "listFiles", Summary: "List a folder",
			Inputs:  obj(nil, map[string]any{"folder": map[string]any{"type": "string", "default": "."}, "pattern": map[string]any{"type": "string", "description": "a glob such as *.csv"}}),
			Outputs: obj(nil, map[string]any{"files": map[string]any{"type": "array", "items": fileInfo}})},
		{ID: "readFile", Summary: "Read a file",
			Inputs:  obj([]string{"path"}, map[string]any{"path": path("file path"), "encoding": enc}),
			Outputs: obj(nil, map[string]any{"content": map[string]any{"type": "string"}, "size": map[string]any{"type": "integer"}})},
		{ID: "writeFile", Summary: "Write a file to a temporary name and rename it into place",
			Inputs: obj([]string{"path", "content"}, map[string]any{"path": path("file path; missing folders are created"),
				"content": map[string]any{"type": "string"}, "encoding": enc, "overwrite": map[string]any{"type": "boolean", "default": true}}),
			Outputs: obj(nil, map[string]any{"size": map[string]any{"type": "integer"}})},
		{ID: "moveFile", Summary: "Move or rename a file",
			Inputs: obj([]string{"from", "to"}, map[string]any{"from": path("source path"), "to": path("destination path"),
				"overwrite": map[string]any{"type": "boolean", "default": false}}),
			Outputs: obj(nil, map[string]any{})},
		{ID: "deleteFile", Summary: "Delete a file",
			Inputs:  obj([]string{"path"}, map[string]any{"path": path("file path")}),
			Outputs: obj(nil, map[string]any{"deleted": map[string]any{"type": "boolean"}})},
	}
	for i := range ops {
		ops[i].Kind = Action
		ops[i].Invoke = invoke(ops[i].ID)
	}
	return ops
}
