package db

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/internal/testnet"
	"github.com/msgscript/msgscript/luaenv"
)

func state(t *testing.T, deadline time.Duration) *lua.LState {
	t.Helper()
	L := lua.NewState()
	t.Cleanup(L.Close)
	preload, err := luaenv.New(luaenv.Policy{}, luaenv.Services{})
	if err != nil {
		t.Fatal(err)
	}
	preload(L)
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	t.Cleanup(cancel)
	L.SetContext(ctx)
	return L
}

func TestSQLite(t *testing.T) {
	L := state(t, 30*time.Second)
	L.SetGlobal("path", lua.LString(filepath.Join(t.TempDir(), "app.db")))
	err := L.DoString(`
		local db = require("sqlite3").new()
		assert(db:open(path))
		assert(db:exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, score REAL, ok BOOLEAN)"))
		local r1 = assert(db:exec("INSERT INTO users (name, score, ok) VALUES (?, ?, ?)", "Ann", 1.5, true))
		local r2 = assert(db:exec("INSERT INTO users (name, score, ok) VALUES (?, ?, ?)", "Bo", 2, false))
		local rows = assert(db:query("SELECT id, name, score FROM users WHERE score > ? ORDER BY id", 1))
		local upd = assert(db:exec("UPDATE users SET name = upper(name)"))
		local after = assert(db:query("SELECT name FROM users ORDER BY id"))
		local none = assert(db:query("SELECT * FROM users WHERE id = ?", 99))
		local bad, err = db:query("SELECT * FROM nowhere")
		db:close()
		local ok, closedErr = pcall(function() return db:query("SELECT 1") end)
		result = table.concat({r1.last_insert_id, r2.last_insert_id, #rows, rows[1].id, rows[1].name, rows[1].score, rows[2].score,
			upd.rows_affected, after[1].name .. after[2].name, #none, tostring(bad), tostring(err ~= nil), tostring(ok)}, ",")
		closed = closedErr
	`)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := L.GetGlobal("result").String(), "1,2,2,1,Ann,1.5,2,2,ANNBO,0,nil,true,false"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if !strings.Contains(L.GetGlobal("closed").String(), "not connected") {
		t.Errorf("query after close: %s", L.GetGlobal("closed"))
	}
}

// A query ends with the call's deadline.
func TestQueryHonoursTheDeadline(t *testing.T) {
	L := state(t, 300*time.Millisecond)
	L.SetGlobal("path", lua.LString(filepath.Join(t.TempDir(), "slow.db")))
	start := time.Now()
	err := L.DoString(`
		local db = require("sqlite3").new()
		assert(db:open(path))
		rows, qerr = db:query("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c")
	`)
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("an endless query ran %s past a 300ms deadline", d)
	}
	if err == nil && L.GetGlobal("qerr") == lua.LNil {
		t.Fatal("an endless query returned rows")
	}
}

// MySQL and PostgreSQL with nothing listening: an error, in gluasql's nil, err form.
func TestConnectFailure(t *testing.T) {
	port := testnet.FreePort(t) // nothing listens there
	for _, module := range []string{"mysql", "postgres"} {
		L := state(t, 10*time.Second)
		L.SetGlobal("port", lua.LNumber(port))
		if err := L.DoString(`ok, err = require("` + module + `").new():connect({host = "127.0.0.1", port = port, database = "x", user = "u", password = "p"})`); err != nil {
			t.Fatal(err)
		}
		if L.GetGlobal("ok") != lua.LNil || !strings.Contains(L.GetGlobal("err").String(), module+":") {
			t.Errorf("%s on a closed port %d: %v %v", module, port, L.GetGlobal("ok"), L.GetGlobal("err"))
		}
	}
}
