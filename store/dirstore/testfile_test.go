package dirstore

import (
	"context"
	"testing"

	"github.com/msgscript/msgscript/internal/testfiles"
	"github.com/msgscript/msgscript/store/storetest"
)

// A *_test.lua file is a test for msgscriptcli test, never a script or library, even with a
// subject header or under libs/: neither the scan nor the watch reads it.
func TestDirIgnoresTestFiles(t *testing.T) {
	root := testfiles.Dir(t, map[string]string{
		"hello.lua":               "--* subject: funcs.hello\n",
		"hello_test.lua":          "--* subject: funcs.hello\n--* name: not_a_script\nfunction TestHello() end\n",
		"nested/other_test.lua":   "--* subject: funcs.other\n",
		"libs/web.lua":            "x = 1\n",
		"libs/web_test.lua":       "function TestWeb() end\n",
		"libs/deep/util_test.lua": "y = 1\n",
	})
	d := New(root, nil)
	scripts, err := d.Scripts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	libs, err := d.Libraries(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := storetest.Describe(append(storetest.Puts(libs), storetest.Puts(scripts)...)), "put library web\nput script funcs.hello/hello"; got != want {
		t.Fatalf("scan:\n%s\nwant:\n%s", got, want)
	}

	batches := storetest.Watch(t, d)
	if got, want := storetest.Describe(storetest.Next(t, batches)), "put library web\nput script funcs.hello/hello"; got != want {
		t.Fatalf("first batch:\n%s\nwant:\n%s", got, want)
	}
	// The test files are written first: had the watch read them, they would be in this batch or
	// an earlier one.
	testfiles.Write(t, root, map[string]string{
		"new_test.lua":       "--* subject: funcs.new_test\n",
		"libs/more_test.lua": "z = 1\n",
	})
	testfiles.Write(t, root, map[string]string{"bye.lua": "--* subject: funcs.bye\n"})
	if got, want := storetest.Describe(storetest.Next(t, batches)), "put script funcs.bye/bye"; got != want {
		t.Fatalf("after writing test files and bye.lua:\n%s\nwant:\n%s", got, want)
	}
}
