// Package db is the db plugin: SQL databases through database/sql and pure-Go drivers, with the
// API of gluasql, as three modules:
//
//	local mysql = require("mysql")          -- also "postgres"
//	local c = mysql.new()
//	local ok, err = c:connect({host = "127.0.0.1", port = 3306, database = "app", user = "u", password = "p"})
//	local sqlite3 = require("sqlite3")
//	local ok, err = sqlite3.new():open("/var/lib/app/app.db")
//	local rows, err = c:query("SELECT id, name FROM users WHERE id > ?", 10)  -- a list of row tables
//	local res, err = c:exec("UPDATE users SET name = ? WHERE id = ?", "Ann", 1) -- {rows_affected, last_insert_id}
//	c:close()
//
// Queries run under the call's deadline. Connection pools are shared per data source across calls
// and scripts (close lets go of the handle, not of the pool), so a script that forgets close
// leaks nothing. In a sandbox the plugin is left out: it reaches files and the network.
package db

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	lua "github.com/yuin/gopher-lua"
	_ "modernc.org/sqlite" // registers "sqlite"

	"github.com/msgscript/msgscript/plugins"
)

func init() {
	for _, name := range []string{"mysql", "postgres", "sqlite3"} {
		plugins.Register(plugins.Plugin{Name: name, Loader: loader(name), Sandboxed: true})
	}
}

const connType = "db.conn"

// conn is what new() returns: a handle on a shared pool once connected.
type conn struct {
	module string
	db     *sql.DB
}

func loader(module string) lua.LGFunction {
	return func(L *lua.LState) int {
		mt := L.NewTypeMetatable(connType)
		L.SetField(mt, "__index", L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
			"connect": connect,
			"open":    open,
			"query":   query,
			"exec":    exec,
			"close":   closeConn,
		}))
		L.Push(L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
			"new": func(L *lua.LState) int {
				ud := L.NewUserData()
				ud.Value = &conn{module: module}
				L.SetMetatable(ud, L.GetTypeMetatable(connType))
				L.Push(ud)
				return 1
			},
		}))
		return 1
	}
}

func check(L *lua.LState) *conn {
	if c, ok := L.CheckUserData(1).Value.(*conn); ok {
		return c
	}
	L.ArgError(1, "database connection expected")
	return nil
}

func fail(L *lua.LState, err error) int {
	L.Push(lua.LNil)
	L.Push(lua.LString(err.Error()))
	return 2
}

// connect opens a MySQL or PostgreSQL pool from {host, port, database, user, password}
// (postgres also takes sslmode, default "disable").
func connect(L *lua.LState) int {
	c := check(L)
	opts := L.CheckTable(2)
	get := func(k string) string { return lua.LVAsString(opts.RawGetString(k)) }
	host := get("host")
	if host == "" {
		host = "127.0.0.1"
	}
	var driver, dsn string
	switch c.module {
	case "mysql":
		port := get("port")
		if port == "" {
			port = "3306"
		}
		cfg := mysql.NewConfig()
		cfg.Net, cfg.Addr, cfg.User, cfg.Passwd, cfg.DBName = "tcp", net.JoinHostPort(host, port), get("user"), get("password"), get("database")
		cfg.ParseTime = true
		driver, dsn = "mysql", cfg.FormatDSN()
	case "postgres":
		port := get("port")
		if port == "" {
			port = "5432"
		}
		sslmode := get("sslmode")
		if sslmode == "" {
			sslmode = "disable"
		}
		u := url.URL{Scheme: "postgres", User: url.UserPassword(get("user"), get("password")), Host: net.JoinHostPort(host, port), Path: "/" + get("database"),
			RawQuery: url.Values{"sslmode": {sslmode}}.Encode()}
		driver, dsn = "pgx", u.String()
	default:
		L.RaiseError("%s: use open(path)", c.module)
	}
	return attach(L, c, driver, dsn)
}

// open opens a SQLite database file (created if missing).
func open(L *lua.LState) int {
	c := check(L)
	if c.module != "sqlite3" {
		L.RaiseError("%s: use connect{...}", c.module)
	}
	path := L.CheckString(2)
	dsn := "file:" + path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)"
	return attach(L, c, "sqlite", dsn)
}

// attach gives c the shared pool of a data source, checking that it answers.
func attach(L *lua.LState, c *conn, driver, dsn string) int {
	db, err := pool(driver, dsn)
	if err != nil {
		return fail(L, fmt.Errorf("%s: %v", c.module, err))
	}
	ctx, cancel := callContext(L)
	defer cancel()
	ctx, cancelPing := context.WithTimeout(ctx, 10*time.Second)
	defer cancelPing()
	if err := db.PingContext(ctx); err != nil {
		return fail(L, fmt.Errorf("%s: %v", c.module, err))
	}
	c.db = db
	L.Push(lua.LTrue)
	return 1
}

var (
	poolsMu sync.Mutex
	pools   = map[string]*sql.DB{}
)

// pool returns the one *sql.DB of a data source, opening it on first use.
func pool(driver, dsn string) (*sql.DB, error) {
	poolsMu.Lock()
	defer poolsMu.Unlock()
	key := driver + " " + dsn
	if db := pools[key]; db != nil {
		return db, nil
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pools[key] = db
	return db, nil
}

// callContext is a context that ends with the call. It is derived from the call's own, because
// database/sql and the drivers watch it from goroutines of their own, and the call's is only
// watched from the goroutine running it.
func callContext(L *lua.LState) (context.Context, context.CancelFunc) {
	if ctx := L.Context(); ctx != nil {
		return context.WithCancel(ctx)
	}
	return context.WithCancel(context.Background())
}

func connected(L *lua.LState) *conn {
	c := check(L)
	if c.db == nil {
		L.RaiseError("%s: not connected", c.module)
	}
	return c
}

// args reads the query parameters after the SQL text.
func args(L *lua.LState) []any {
	var out []any
	for i := 3; i <= L.GetTop(); i++ {
		switch v := L.Get(i).(type) {
		case lua.LNumber:
			if f := float64(v); f == float64(int64(f)) {
				out = append(out, int64(f))
			} else {
				out = append(out, f)
			}
		case lua.LBool:
			out = append(out, bool(v))
		case *lua.LNilType:
			out = append(out, nil)
		default:
			out = append(out, v.String())
		}
	}
	return out
}

// query returns the rows as a list of tables column -> value.
func query(L *lua.LState) int {
	c := connected(L)
	ctx, cancel := callContext(L)
	defer cancel()
	rows, err := c.db.QueryContext(ctx, L.CheckString(2), args(L)...)
	if err != nil {
		return fail(L, fmt.Errorf("%s: %v", c.module, err))
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return fail(L, fmt.Errorf("%s: %v", c.module, err))
	}
	list := L.NewTable()
	values := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range values {
		ptrs[i] = &values[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return fail(L, fmt.Errorf("%s: %v", c.module, err))
		}
		row := L.CreateTable(0, len(cols))
		for i, col := range cols {
			row.RawSetString(col, toLua(values[i]))
		}
		list.Append(row)
	}
	if err := rows.Err(); err != nil {
		return fail(L, fmt.Errorf("%s: %v", c.module, err))
	}
	L.Push(list)
	return 1
}

func toLua(v any) lua.LValue {
	switch v := v.(type) {
	case nil:
		return lua.LNil
	case int64:
		return lua.LNumber(v)
	case int32:
		return lua.LNumber(v)
	case float64:
		return lua.LNumber(v)
	case float32:
		return lua.LNumber(v)
	case bool:
		return lua.LBool(v)
	case []byte:
		return lua.LString(v)
	case string:
		return lua.LString(v)
	case time.Time:
		return lua.LString(v.Format(time.RFC3339Nano))
	default:
		return lua.LString(fmt.Sprint(v))
	}
}

// exec runs a statement and returns {rows_affected, last_insert_id}.
func exec(L *lua.LState) int {
	c := connected(L)
	ctx, cancel := callContext(L)
	defer cancel()
	res, err := c.db.ExecContext(ctx, L.CheckString(2), args(L)...)
	if err != nil {
		return fail(L, fmt.Errorf("%s: %v", c.module, err))
	}
	t := L.CreateTable(0, 2)
	if n, err := res.RowsAffected(); err == nil {
		t.RawSetString("rows_affected", lua.LNumber(n))
	}
	if id, err := res.LastInsertId(); err == nil {
		t.RawSetString("last_insert_id", lua.LNumber(id))
	}
	L.Push(t)
	return 1
}

// closeConn lets go of the handle; the shared pool stays for the next call.
func closeConn(L *lua.LState) int {
	check(L).db = nil
	L.Push(lua.LTrue)
	return 1
}
