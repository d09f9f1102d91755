namespace Quanta.Templates.Jinja;

/// <summary>
/// A node of a parsed Jinja template, as @huggingface/jinja's AST has them. <see cref="Offset"/> is where it
/// starts in the template text, so a runtime error names the template's line.
/// </summary>
abstract record Node(int Offset);

sealed record TemplateBody(IReadOnlyList<Node> Body) : Node(0);

sealed record TextNode(string Value, int Offset) : Node(Offset);

sealed record CommentNode(int Offset) : Node(Offset);

sealed record IfNode(Node Test, IReadOnlyList<Node> Body, IReadOnlyList<Node> Alternate, int Offset) : Node(Offset);

/// <summary><c>{% for target in iterable %}</c>; a <see cref="SelectNode"/> iterable is <c>for ... if ...</c>.</summary>
sealed record ForNode(Node Target, Node Iterable, IReadOnlyList<Node> Body, IReadOnlyList<Node> Else, int Offset) : Node(Offset);

/// <summary><c>{% set x = v %}</c>, or with <see cref="Value"/> null the block form up to <c>{% endset %}</c>.</summary>
sealed record SetNode(Node Target, Node? Value, IReadOnlyList<Node> Body, int Offset) : Node(Offset);

sealed record MacroNode(string Name, IReadOnlyList<Node> Parameters, IReadOnlyList<Node> Body, int Offset) : Node(Offset);

sealed record CallBlockNode(CallNode Call, IReadOnlyList<Node>? CallerParameters, IReadOnlyList<Node> Body, int Offset) : Node(Offset);

sealed record FilterBlockNode(Node Filter, IReadOnlyList<Node> Body, int Offset) : Node(Offset);

sealed record BreakNode(int Offset) : Node(Offset);

sealed record ContinueNode(int Offset) : Node(Offset);

sealed record IdentifierNode(string Name, int Offset) : Node(Offset);

sealed record IntegerLiteral(long Value, int Offset) : Node(Offset);

sealed record FloatLiteral(double Value, int Offset) : Node(Offset);

sealed record StringLiteral(string Value, int Offset) : Node(Offset);

sealed record ArrayLiteral(IReadOnlyList<Node> Items, int Offset) : Node(Offset);

sealed record TupleLiteral(IReadOnlyList<Node> Items, int Offset) : Node(Offset);

sealed record ObjectLiteral(IReadOnlyList<(Node Key, Node Value)> Entries, int Offset) : Node(Offset);

sealed record BinaryNode(string Operator, Node Left, Node Right, int Offset) : Node(Offset);

sealed record UnaryNode(string Operator, Node Operand, int Offset) : Node(Offset);

sealed record MemberNode(Node Target, Node Property, bool Computed, int Offset) : Node(Offset);

sealed record SliceNode(Node? Start, Node? Stop, Node? Step, int Offset) : Node(Offset);

sealed record CallNode(Node Callee, IReadOnlyList<Node> Arguments, int Offset) : Node(Offset);

sealed record KeywordArgumentNode(string Key, Node Value, int Offset) : Node(Offset);

sealed record SpreadNode(Node Operand, bool Keywords, int Offset) : Node(Offset);

/// <summary><c>operand | filter</c>; the filter is an identifier or a call of one.</summary>
sealed record FilterNode(Node Operand, Node Filter, int Offset) : Node(Offset);

sealed record TestNode(Node Operand, bool Negate, string Test, int Offset) : Node(Offset);

sealed record TernaryNode(Node Condition, Node IfTrue, Node IfFalse, int Offset) : Node(Offset);

/// <summary><c>value if test</c> without an else: undefined when the test fails.</summary>
sealed record SelectNode(Node Value, Node Test, int Offset) : Node(Offset);
