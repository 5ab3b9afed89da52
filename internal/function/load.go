package function

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"junction/internal/project"
)

// decodeFunctionFile reads function.json: bindings of the types Junction
// serves are decoded strictly; any other type is named as unsupported (not
// reported as an unknown field of the bindings Junction knows).
func decodeFunctionFile(p *project.Project, name string, f *FunctionFile) []project.Problem {
	data, err := p.ReadFile(name)
	if err != nil {
		return []project.Problem{{File: name, Message: err.Error()}}
	}
	data = project.StripBOM(data)
	var problems []project.Problem
	var doc map[string]json.RawMessage
	var raw []json.RawMessage
	if json.Unmarshal(data, &doc) == nil && json.Unmarshal(doc["bindings"], &raw) == nil {
		kept := raw[:0]
		for i, b := range raw {
			var t struct {
				Type string `json:"type"`
			}
			if json.Unmarshal(b, &t) == nil && !triggerTypes[t.Type] && !outputTypes[t.Type] {
				problems = append(problems, project.Problem{File: name, Message: fmt.Sprintf("bindings[%d]: %s", i, unsupportedBinding(t.Type))})
				continue
			}
			kept = append(kept, b)
		}
		if len(problems) > 0 {
			doc["bindings"], _ = json.Marshal(kept)
			data, _ = json.Marshal(doc)
		}
	}
	if pr := project.DecodeJSON(name, data, f); pr != nil {
		problems = append(problems, pr...)
	}
	return problems
}

// storageBindings are Azure binding types backed by services Junction does
// not stand in for.
var storageBindings = map[string]string{
	"blob": "Azure Blob Storage", "blobtrigger": "Azure Blob Storage",
	"queue": "Azure Storage queues", "queuetrigger": "Azure Storage queues",
	"table":    "Azure Table Storage",
	"cosmosdb": "Azure Cosmos DB", "cosmosdbtrigger": "Azure Cosmos DB",
	"eventhub": "Azure Event Hubs", "eventhubtrigger": "Azure Event Hubs",
	"sql": "Azure SQL", "sqltrigger": "Azure SQL",
	"signalr": "Azure SignalR", "signalrtrigger": "Azure SignalR", "signalrconnectioninfo": "Azure SignalR",
	"sendgrid": "SendGrid", "twiliosms": "Twilio", "notificationhub": "Azure Notification Hubs",
	"webpubsub": "Azure Web PubSub", "webpubsubtrigger": "Azure Web PubSub",
	"mysql": "Azure Database for MySQL", "mysqltrigger": "Azure Database for MySQL",
}

func unsupportedBinding(typ string) string {
	const served = "(Junction serves httpTrigger, timerTrigger, serviceBusTrigger, eventGridTrigger; outputs http, serviceBus, eventGrid, dataverse)"
	if svc, ok := storageBindings[strings.ToLower(typ)]; ok {
		return fmt.Sprintf("binding type %q needs %s, an Azure service that is not supported by Junction %s", typ, svc, served)
	}
	return fmt.Sprintf("binding type %q is not supported by Junction %s", typ, served)
}

// localSettings is local.settings.json, where Azure Functions Core Tools
// keep an app's settings for running it locally.
type localSettings struct {
	IsEncrypted       bool              `json:"IsEncrypted"`
	Values            map[string]string `json:"Values"`
	Host              json.RawMessage   `json:"Host,omitempty"`
	ConnectionStrings json.RawMessage   `json:"ConnectionStrings,omitempty"`
}

// loadSettings reads local.settings.json (optional) and decides whether the
// app's JavaScript runs in the Node.js worker.
func (cfg *App) loadSettings(p *project.Project, add func(string, string, ...any)) {
	file := path.Join(Folder, "local.settings.json")
	if p.Exists(file) {
		var ls localSettings
		if pr := p.DecodeJSON(file, &ls); pr != nil {
			add(file, "%s", pr[0].Message)
		} else if ls.IsEncrypted {
			add(file, "IsEncrypted: encrypted settings cannot be read; decrypt them (func settings decrypt)")
		} else {
			cfg.Settings = ls.Values
		}
	}
	runtime := strings.ToLower(cfg.Settings["FUNCTIONS_WORKER_RUNTIME"])
	choice := ""
	if j := cfg.Host.Junction; j != nil {
		choice = j.JavaScriptRuntime
	}
	switch choice {
	case "node":
		cfg.Node = true
	case "sandbox":
	case "":
		cfg.Node = runtime == "node" || p.Exists(path.Join(Folder, "package.json"))
	default:
		add(path.Join(Folder, "host.json"), "junction.javascriptRuntime %q must be node or sandbox", choice)
	}
	if cfg.Host.CustomHandler != nil {
		cfg.Node = false
		return
	}
	switch runtime {
	case "", "node", "custom":
	default:
		add(file, "FUNCTIONS_WORKER_RUNTIME %q: Junction runs JavaScript (node) apps, and apps in any language through a customHandler in host.json", runtime)
	}
}
