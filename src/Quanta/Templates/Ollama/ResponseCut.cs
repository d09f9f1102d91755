using Quanta.Templates.Go;

namespace Quanta.Templates.Ollama;

/// <summary>
/// Ollama's two rewrites of a TEMPLATE's tree (ollama/ollama <c>template/template.go</c>): <c>Parse</c> appends
/// <c>{{ .Response }}</c> to a template that reads neither <c>.Messages</c> nor <c>.Response</c>, and the legacy path
/// of <c>Execute</c> renders the last turn with <c>deleteNode</c>'s copy of the tree, which keeps everything up to
/// and including the first <c>.Response</c> field and drops every node the walk meets after it (the text that would
/// close the assistant's turn), so the prompt ends where the model's answer starts.
/// </summary>
internal static class ResponseCut
{
    /// <summary><paramref name="root"/> with <c>{{ .Response }}</c> appended, as Ollama's <c>Parse</c> does.</summary>
    public static ListNode AppendResponse(ListNode root)
    {
        var copy = new ListNode(root.Position);
        foreach (var node in root.Nodes)
        {
            copy.Add(node);
        }
        var pipe = new PipeNode(0, 0);
        var command = new CommandNode(0);
        command.Add(new FieldNode(0, ".Response"));
        pipe.AddCommand(command);
        copy.Add(new ActionNode(0, 0, pipe));
        return copy;
    }

    /// <summary>A copy of <paramref name="root"/> cut after its first <c>.Response</c> field, as Ollama's <c>deleteNode</c> walk.</summary>
    /// <exception cref="TemplateException">
    /// The cut falls inside an <c>if</c>/<c>range</c>/<c>with</c> body that has an <c>{{else}}</c>: Ollama's walk
    /// then asserts a deleted else body to a list and panics; this is that failure as an error.
    /// </exception>
    public static ListNode AtResponse(ListNode root)
    {
        var cut = false;
        bool Deleted(Node node)
        {
            if (node is FieldNode field && field.Ident.Contains("Response"))
            {
                cut = true;
                return false;
            }
            return cut;
        }

        Node? Walk(Node node)
        {
            if (Deleted(node))
            {
                return null;
            }
            switch (node)
            {
                case ListNode list:
                    var copy = new ListNode(list.Position);
                    foreach (var child in list.Nodes)
                    {
                        if (Walk(child) is { } kept)
                        {
                            copy.Add(kept);
                        }
                    }
                    return copy;
                case BranchNode branch:
                    // Go walks the branch's lists, never its pipe: {{ if .Response }} does not cut.
                    var body = (ListNode)Walk(branch.List)!;
                    ListNode? elseBody = null;
                    if (branch.ElseList is not null)
                    {
                        elseBody = Walk(branch.ElseList) as ListNode
                            ?? throw new TemplateException("interface conversion: parse.Node is nil, not *parse.ListNode");
                    }
                    return branch switch
                    {
                        IfNode => new IfNode(branch.Position, branch.Line, branch.Pipe, body, elseBody),
                        RangeNode => new RangeNode(branch.Position, branch.Line, branch.Pipe, body, elseBody),
                        _ => new WithNode(branch.Position, branch.Line, branch.Pipe, body, elseBody),
                    };
                case ActionNode action:
                    return Walk(action.Pipe) is PipeNode actionPipe ? new ActionNode(action.Position, action.Line, actionPipe) : null;
                case PipeNode pipe:
                    var commands = new List<CommandNode>();
                    foreach (var command in pipe.Commands)
                    {
                        var kept = new CommandNode(command.Position);
                        foreach (var argument in command.Arguments)
                        {
                            if (Walk(argument) is { } argumentKept)
                            {
                                kept.Add(argumentKept);
                            }
                        }
                        if (kept.Arguments.Count == 0)
                        {
                            return null;
                        }
                        commands.Add(kept);
                    }
                    if (commands.Count == 0)
                    {
                        return null;
                    }
                    var pipeCopy = new PipeNode(pipe.Position, pipe.Line) { IsAssign = pipe.IsAssign };
                    foreach (var declaration in pipe.Declarations)
                    {
                        pipeCopy.AddDeclaration(declaration);
                    }
                    foreach (var command in commands)
                    {
                        pipeCopy.AddCommand(command);
                    }
                    return pipeCopy;
                default:
                    return node;
            }
        }

        return (ListNode)Walk(root)!;
    }
}
