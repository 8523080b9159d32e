package engine

import (
	"strings"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/ast"
)

// gopher-lua builds a concatenation (a .. b .. c, one VM instruction) in one allocation of the
// operands' total size: forty references to a 100 MiB string, joined in one expression, asked Go
// for 4 GB at once, which ends the process. So every compiled chunk (scripts, libraries,
// loadstring) has its concatenations rewritten into calls of concat, which refuses a result over
// the bound before building it and otherwise builds it as Lua does.
//
// The calls go through a local of the chunk named concatName, set from the base globals when the
// chunk runs: the name is no Lua name, so no script can name, shadow or replace it.
const concatName = "msgscript concat"

// boundConcatenations rewrites a parsed chunk (see above).
func boundConcatenations(chunk []ast.Stmt) []ast.Stmt {
	rewriteStmts(chunk)
	local := &ast.LocalAssignStmt{Names: []string{concatName}, Exprs: []ast.Expr{&ast.IdentExpr{Value: concatName}}}
	return append([]ast.Stmt{local}, chunk...)
}

// concat is what the rewritten chunks call: a .. b .. c as Lua does it, from the right, with
// __concat for operands that are neither strings nor numbers, once its size is known to be under
// the memory guard's bound for one value and admitted.
func concat(L *lua.LState) int {
	n := L.GetTop()
	size, plain := 0, true
	for i := 1; i <= n; i++ {
		switch v := L.Get(i).(type) {
		case lua.LString:
			size += len(v)
		case lua.LNumber:
			size += 24
		default:
			plain = false
		}
	}
	if size > memory.maxValue() {
		L.RaiseError("concatenation: the string would be over %s", valueBound())
	}
	if size >= admitFrom {
		if err := memory.admit(size); err != nil {
			L.RaiseError("concatenation: %v", err)
		}
		defer memory.admitted(size)
	}
	if plain {
		var b strings.Builder
		b.Grow(size)
		for i := 1; i <= n; i++ {
			b.WriteString(lua.LVAsString(L.Get(i)))
		}
		L.Push(lua.LString(b.String()))
		return 1
	}
	rhs := L.Get(n)
	for i := n - 1; i >= 1; i-- {
		lhs := L.Get(i)
		if lua.LVCanConvToString(lhs) && lua.LVCanConvToString(rhs) {
			rhs = lua.LString(lua.LVAsString(lhs) + lua.LVAsString(rhs))
			continue
		}
		mm := L.GetMetaField(lhs, "__concat")
		if mm == lua.LNil {
			mm = L.GetMetaField(rhs, "__concat")
		}
		if mm.Type() != lua.LTFunction {
			L.RaiseError("cannot perform concat operation between %v and %v", lhs.Type().String(), rhs.Type().String())
		}
		L.Push(mm)
		L.Push(lhs)
		L.Push(rhs)
		L.Call(2, 1)
		rhs = L.Get(-1)
		L.Pop(1)
	}
	L.Push(rhs)
	return 1
}

func rewriteStmts(stmts []ast.Stmt) {
	for _, s := range stmts {
		rewriteStmt(s)
	}
}

func rewriteExprs(exprs []ast.Expr) {
	for i, e := range exprs {
		exprs[i] = rewriteExpr(e)
	}
}

func rewriteStmt(s ast.Stmt) {
	switch s := s.(type) {
	case *ast.AssignStmt:
		rewriteExprs(s.Lhs)
		rewriteExprs(s.Rhs)
	case *ast.LocalAssignStmt:
		rewriteExprs(s.Exprs)
	case *ast.FuncCallStmt:
		s.Expr = rewriteExpr(s.Expr)
	case *ast.DoBlockStmt:
		rewriteStmts(s.Stmts)
	case *ast.WhileStmt:
		s.Condition = rewriteExpr(s.Condition)
		rewriteStmts(s.Stmts)
	case *ast.RepeatStmt:
		s.Condition = rewriteExpr(s.Condition)
		rewriteStmts(s.Stmts)
	case *ast.IfStmt:
		s.Condition = rewriteExpr(s.Condition)
		rewriteStmts(s.Then)
		rewriteStmts(s.Else)
	case *ast.NumberForStmt:
		s.Init, s.Limit = rewriteExpr(s.Init), rewriteExpr(s.Limit)
		if s.Step != nil {
			s.Step = rewriteExpr(s.Step)
		}
		rewriteStmts(s.Stmts)
	case *ast.GenericForStmt:
		rewriteExprs(s.Exprs)
		rewriteStmts(s.Stmts)
	case *ast.FuncDefStmt:
		if s.Name != nil {
			if s.Name.Func != nil {
				s.Name.Func = rewriteExpr(s.Name.Func)
			}
			if s.Name.Receiver != nil {
				s.Name.Receiver = rewriteExpr(s.Name.Receiver)
			}
		}
		rewriteStmts(s.Func.Stmts)
	case *ast.ReturnStmt:
		rewriteExprs(s.Exprs)
	}
}

func rewriteExpr(e ast.Expr) ast.Expr {
	switch e := e.(type) {
	case *ast.StringConcatOpExpr:
		// a .. (b .. (c .. d)), as the parser nests it: one call with the operands in order.
		call := &ast.FuncCallExpr{Func: &ast.IdentExpr{Value: concatName}}
		call.SetLine(e.Line())
		call.Func.SetLine(e.Line())
		var operand ast.Expr = e
		for {
			c, ok := operand.(*ast.StringConcatOpExpr)
			if !ok {
				break
			}
			call.Args = append(call.Args, rewriteExpr(c.Lhs))
			operand = c.Rhs
		}
		last := rewriteExpr(operand)
		// An operand gives one value, even a call or ... in the last place, where an argument
		// list would take all of theirs: "a" .. s:gsub(...) is "a" and the string, not its count.
		switch l := last.(type) {
		case *ast.FuncCallExpr:
			l.AdjustRet = true
		case *ast.Comma3Expr:
			l.AdjustRet = true
		}
		call.Args = append(call.Args, last)
		return call
	case *ast.AttrGetExpr:
		e.Object, e.Key = rewriteExpr(e.Object), rewriteExpr(e.Key)
	case *ast.TableExpr:
		for _, f := range e.Fields {
			if f.Key != nil {
				f.Key = rewriteExpr(f.Key)
			}
			f.Value = rewriteExpr(f.Value)
		}
	case *ast.FuncCallExpr:
		if e.Func != nil {
			e.Func = rewriteExpr(e.Func)
		}
		if e.Receiver != nil {
			e.Receiver = rewriteExpr(e.Receiver)
		}
		rewriteExprs(e.Args)
	case *ast.LogicalOpExpr:
		e.Lhs, e.Rhs = rewriteExpr(e.Lhs), rewriteExpr(e.Rhs)
	case *ast.RelationalOpExpr:
		e.Lhs, e.Rhs = rewriteExpr(e.Lhs), rewriteExpr(e.Rhs)
	case *ast.ArithmeticOpExpr:
		e.Lhs, e.Rhs = rewriteExpr(e.Lhs), rewriteExpr(e.Rhs)
	case *ast.UnaryMinusOpExpr:
		e.Expr = rewriteExpr(e.Expr)
	case *ast.UnaryNotOpExpr:
		e.Expr = rewriteExpr(e.Expr)
	case *ast.UnaryLenOpExpr:
		e.Expr = rewriteExpr(e.Expr)
	case *ast.FunctionExpr:
		rewriteStmts(e.Stmts)
	}
	return e
}
