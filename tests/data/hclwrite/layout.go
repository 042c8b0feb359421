// Generates layout.hcl with real hclwrite, the reference for tests/unit/render/test_hcl.py.
// Regenerate: in an empty dir with this file, `go mod init hw && go get github.com/hashicorp/hcl/v2/hclwrite@v2.25.0 github.com/zclconf/go-cty@v1.20.0 && go run . > layout.hcl`.
// cty sorts object keys, so the Python test writes them in sorted order too.
package main

import (
	"fmt"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

func main() {
	f := hclwrite.NewEmptyFile()
	b := f.Body()
	b.SetAttributeValue("ui", cty.True)
	b.SetAttributeValue("cluster_name", cty.StringVal("bao"))
	b.SetAttributeValue("plugin_directory", cty.StringVal("/openbao/plugins"))
	l := b.AppendNewBlock("listener", []string{"tcp"}).Body()
	l.SetAttributeValue("address", cty.StringVal("[::]:8200"))
	l.SetAttributeValue("tls_disable", cty.NumberIntVal(0))
	l.SetAttributeValue("max_request_duration", cty.StringVal("90s"))
	s := b.AppendNewBlock("storage", []string{"raft"}).Body()
	s.SetAttributeValue("path", cty.StringVal("/bao/data"))
	s.AppendNewBlock("retry_join", nil).Body().SetAttributeValue("auto_join", cty.StringVal(`provider=k8s label_selector="a=b"`))
	s.SetAttributeValue("performance_multiplier", cty.NumberIntVal(1))
	b.AppendNewBlock("service_registration", []string{"kubernetes"})
	b.SetAttributeValue("log_level", cty.StringVal("info"))
	b.SetAttributeValue("cache_size", cty.NumberIntVal(100))
	a := b.AppendNewBlock("audit", []string{"file", "to-stdout"}).Body()
	a.SetAttributeValue("description", cty.StringVal("d"))
	a.SetAttributeValue("type_x", cty.StringVal("t"))
	a.SetAttributeValue("options", cty.ObjectVal(map[string]cty.Value{"file_path": cty.StringVal("/dev/stdout"), "mode": cty.StringVal("0600"), "nested": cty.ObjectVal(map[string]cty.Value{"k": cty.NumberIntVal(1)})}))
	a.SetAttributeValue("local", cty.False)
	a.SetAttributeValue("empty", cty.EmptyObjectVal)
	b.SetAttributeValue("l", cty.ListVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")}))
	b.SetAttributeValue("e", cty.ListValEmpty(cty.String))
	b.SetAttributeValue("mixed", cty.TupleVal([]cty.Value{cty.NumberIntVal(1), cty.True, cty.StringVal("x"), cty.TupleVal([]cty.Value{cty.NumberFloatVal(2.5)}), cty.EmptyObjectVal}))
	b.SetAttributeValue("keys", cty.ObjectVal(map[string]cty.Value{"b.c": cty.NumberIntVal(2), "bare_key-1": cty.NumberIntVal(1), "9x": cty.NumberIntVal(4), "with space": cty.NumberIntVal(5)}))
	b.SetAttributeValue("lo", cty.TupleVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{"a": cty.NumberIntVal(1), "bb": cty.NumberIntVal(2)}), cty.ObjectVal(map[string]cty.Value{"c": cty.StringVal("x")})}))
	b.SetAttributeValue("z", cty.NumberIntVal(1))
	b.SetAttributeValue("v", cty.StringVal(`say "hi" \ é ✓ $ % $$ {} 😀 C:\`))
	fmt.Print(string(hclwrite.Format(f.Bytes())))
}
