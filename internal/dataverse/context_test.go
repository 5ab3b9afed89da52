package dataverse

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"testing"
	"time"
)

// TestRemoteExecutionContextRoundTrip decodes a context Dataverse posted and
// writes it back: every field, null and empty list comes out as it went in,
// so the one type both reads what orgs post and writes what Junction posts.
// testdata/remote-execution-context-update.json is the "Modify agent
// presence" payload of Microsoft's Dynamics 365 Customer Service
// documentation (an asynchronous Update step's context, with its
// ParentContext, OwningExtension and a post image without "__type").
func TestRemoteExecutionContextRoundTrip(t *testing.T) {
	t.Parallel()
	in, err := os.ReadFile("testdata/remote-execution-context-update.json")
	if err != nil {
		t.Fatal(err)
	}
	var rc RemoteExecutionContext
	dec := json.NewDecoder(bytes.NewReader(in))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rc); err != nil {
		t.Fatal(err)
	}
	if rc.MessageName != "Update" || rc.Stage != 40 || rc.ParentContext == nil || rc.ParentContext.Stage != 30 || rc.OwningExtension.LogicalName != "sdkmessageprocessingstep" {
		t.Fatalf("decoded %+v", rc)
	}
	out, err := json.Marshal(rc)
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	_ = json.Unmarshal(in, &want)
	_ = json.Unmarshal(out, &got)
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("round trip differs:\n%s", out)
	}
	// "__type" leads an entity, as the data contract serializer needs.
	if !bytes.Contains(out, []byte(`"value":{"__type":"Entity:http://schemas.microsoft.com/xrm/2011/Contracts","Attributes"`)) {
		t.Fatalf("__type is not first: %s", out)
	}
}

func TestContractValues(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		v    any
		want string
	}{
		{OptionSetValue(3), `{"__type":"OptionSetValue:http://schemas.microsoft.com/xrm/2011/Contracts","Value":3}`},
		{MoneyValue(5000.5), `{"__type":"Money:http://schemas.microsoft.com/xrm/2011/Contracts","Value":5000.5}`},
		{Date(time.UnixMilli(1506409448000)), `"/Date(1506409448000)/"`},
		{NewReference("contact", "0c5f3a2b-2c9e-e611-80fa-5065f38a1b01"), `{"__type":"EntityReference:http://schemas.microsoft.com/xrm/2011/Contracts","Id":"0c5f3a2b-2c9e-e611-80fa-5065f38a1b01","KeyAttributes":[],"LogicalName":"contact","Name":null,"RowVersion":null}`},
	} {
		b, err := json.Marshal(c.v)
		if err != nil || string(b) != c.want {
			t.Errorf("got %s (%v), want %s", b, err, c.want)
		}
	}
}
