namespace Quanta.Conversion;

/// <summary>How a multimodal checkpoint (text model, vision tower, projector) is packaged.</summary>
public enum MultimodalLayout
{
    /// <summary>
    /// One GGUF holding the text model, the vision tower (<c>v.*</c>) and the projector (<c>mm.*</c>), with
    /// <c>{arch}.vision.*</c> keys: the layout of Ollama's converter (its gemma3 and other monolithic models).
    /// </summary>
    SingleFile,

    /// <summary>
    /// llama.cpp's layout (<c>convert_hf_to_gguf.py --mmproj</c>): the text model in one GGUF and the vision
    /// tower with the projector in a second, <c>mmproj-*.gguf</c>, of architecture <c>clip</c>.
    /// </summary>
    Projector,
}
