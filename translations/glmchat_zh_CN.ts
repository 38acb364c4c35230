<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
    <context>
        <name>ChatController</name>
        <message>
            <location filename="../app/core/chatcontroller.cpp" line="31" />
            <source>New conversation</source>
            <translation>新对话</translation>
        </message>
        <message>
            <location filename="../app/core/chatcontroller.cpp" line="258" />
            <source>Cannot write %1: %2</source>
            <translation>无法写入 %1：%2</translation>
        </message>
        <message>
            <location filename="../app/core/chatcontroller.cpp" line="272" />
            <source>Cannot read %1: %2</source>
            <translation>无法读取 %1：%2</translation>
        </message>
        <message>
            <location filename="../app/core/chatcontroller.cpp" line="278" />
            <source>%1 is not valid JSON: %2</source>
            <translation>%1 不是有效的 JSON：%2</translation>
        </message>
        <message>
            <location filename="../app/core/chatcontroller.cpp" line="284" />
            <source>Cannot import %1: %2</source>
            <translation>无法导入 %1：%2</translation>
        </message>
        <message>
            <location filename="../app/core/chatcontroller.cpp" line="302" />
            <location filename="../app/core/chatcontroller.cpp" line="591" />
            <location filename="../app/core/chatcontroller.cpp" line="781" />
            <source>Load a model first.</source>
            <translation>请先加载模型。</translation>
        </message>
        <message numerus="yes">
            <location filename="../app/core/chatcontroller.cpp" line="618" />
            <source>… %n more characters (copy the message to see all of it)</source>
            <translation>
                <numerusform>…… 还有 %n 个字符（复制消息可查看全文）</numerusform>
            </translation>
        </message>
        <message>
            <location filename="../app/core/chatcontroller.cpp" line="658" />
            <source>Untitled prompt</source>
            <translation>未命名提示词</translation>
        </message>
        <message>
            <location filename="../app/core/chatcontroller.cpp" line="748" />
            <source>Document: %1</source>
            <translation>文档：%1</translation>
        </message>
        <message>
            <location filename="../app/core/chatcontroller.cpp" line="757" />
            <source>Summarize this document.</source>
            <translation>请总结这份文档。</translation>
        </message>
        <message>
            <location filename="../app/core/chatcontroller.cpp" line="761" />
            <source>The document needs about %1 tokens but only %2 are free: choose Truncate or Summarize in parts.</source>
            <translation>该文档约需 %1 个词元，但上下文只剩 %2 个：请选择“截断”或“分段总结”。</translation>
        </message>
        <message>
            <location filename="../app/core/chatcontroller.cpp" line="774" />
            <source>truncated by the user to its first %1%</source>
            <translation>已按用户选择截断为前 %1%</translation>
        </message>
        <message>
            <location filename="../app/core/chatcontroller.cpp" line="799" />
            <source>Summarizing part %1 of %2</source>
            <translation>正在总结第 %1 部分，共 %2 部分</translation>
        </message>
        <message>
            <location filename="../app/core/chatcontroller.cpp" line="801" />
            <source>This is part %1 of %2 of the document "%3". Summarize it, keeping every fact, name and number that matters.

"""
%4
"""</source>
            <translation>这是文档“%3”的第 %1 部分（共 %2 部分）。请总结这一部分，保留所有重要的事实、名称和数字。

"""
%4
"""</translation>
        </message>
        <message>
            <location filename="../app/core/chatcontroller.cpp" line="810" />
            <source>Part %1: %2</source>
            <translation>第 %1 部分：%2</translation>
        </message>
        <message numerus="yes">
            <location filename="../app/core/chatcontroller.cpp" line="811" />
            <source>summarized in %n parts</source>
            <translation>
                <numerusform>分 %n 部分总结</numerusform>
            </translation>
        </message>
        <message>
            <location filename="../app/core/chatcontroller.cpp" line="822" />
            <source>Best GPU</source>
            <translation>最佳 GPU</translation>
        </message>
        <message>
            <location filename="../app/core/chatcontroller.cpp" line="830" />
            <source>Best GPU (Vulkan: %1)</source>
            <translation>最佳 GPU（Vulkan：%1）</translation>
        </message>
    </context>
    <context>
        <name>Composer</name>
        <message>
            <location filename="../app/qml/Composer.qml" line="27" />
            <source>Reading the prompt: %1% · about %2 s left</source>
            <translation>正在读取提示：%1% · 约剩 %2 秒</translation>
        </message>
        <message>
            <location filename="../app/qml/Composer.qml" line="28" />
            <source>Reading the prompt: %1%</source>
            <translation>正在读取提示：%1%</translation>
        </message>
        <message>
            <location filename="../app/qml/Composer.qml" line="30" />
            <source>Cancel</source>
            <translation>取消</translation>
        </message>
        <message>
            <location filename="../app/qml/Composer.qml" line="52" />
            <source>Attach a document (txt, md, code, html, pdf, docx)</source>
            <translation>附加文档（txt、md、代码、html、pdf、docx）</translation>
        </message>
        <message>
            <location filename="../app/qml/Composer.qml" line="53" />
            <source>Attach a document</source>
            <translation>附加文档</translation>
        </message>
        <message>
            <location filename="../app/qml/Composer.qml" line="66" />
            <source>Message GLM (Enter to send, Shift+Enter for a new line)</source>
            <translation>给 GLM 发消息（Enter 发送，Shift+Enter 换行）</translation>
        </message>
        <message>
            <location filename="../app/qml/Composer.qml" line="67" />
            <source>Load a model to start chatting</source>
            <translation>加载模型后即可开始聊天</translation>
        </message>
        <message>
            <location filename="../app/qml/Composer.qml" line="78" />
            <source>Stop</source>
            <translation>停止</translation>
        </message>
        <message>
            <location filename="../app/qml/Composer.qml" line="78" />
            <source>Send</source>
            <translation>发送</translation>
        </message>
        <message>
            <location filename="../app/qml/Composer.qml" line="82" />
            <source>Stop (Esc)</source>
            <translation>停止（Esc）</translation>
        </message>
        <message>
            <location filename="../app/qml/Composer.qml" line="99" />
            <source>Documents (%1)</source>
            <translation>文档 (%1)</translation>
        </message>
        <message>
            <location filename="../app/qml/Composer.qml" line="99" />
            <source>All files (*)</source>
            <translation>所有文件 (*)</translation>
        </message>
    </context>
    <context>
        <name>ConversationView</name>
        <message>
            <location filename="../app/qml/ConversationView.qml" line="39" />
            <source>GLM Chat</source>
            <translation>GLM Chat</translation>
        </message>
        <message>
            <location filename="../app/qml/ConversationView.qml" line="51" />
            <source>Ask anything, or drop a document (PDF, Word, Markdown, HTML, code) to summarize it or ask about it.</source>
            <translation>随便问点什么，或拖入文档（PDF、Word、Markdown、HTML、代码）进行总结或提问。</translation>
        </message>
        <message>
            <location filename="../app/qml/ConversationView.qml" line="52" />
            <source>Offline chat with GLM models. Everything stays on this computer.</source>
            <translation>使用 GLM 模型离线聊天，所有数据都留在本机。</translation>
        </message>
    </context>
    <context>
        <name>DocumentCard</name>
        <message>
            <location filename="../app/qml/DocumentCard.qml" line="33" />
            <source>Reading the document…</source>
            <translation>正在读取文档……</translation>
        </message>
        <message>
            <location filename="../app/qml/DocumentCard.qml" line="36" />
            <source>%1 tokens</source>
            <translation>%1 个词元</translation>
        </message>
        <message>
            <location filename="../app/qml/DocumentCard.qml" line="36" />
            <source>about %1 tokens</source>
            <translation>约 %1 个词元</translation>
        </message>
        <message>
            <location filename="../app/qml/DocumentCard.qml" line="37" />
            <source>%1 free in the context</source>
            <translation>上下文剩余 %1</translation>
        </message>
        <message>
            <location filename="../app/qml/DocumentCard.qml" line="45" />
            <source>Remove the document</source>
            <translation>移除文档</translation>
        </message>
        <message>
            <location filename="../app/qml/DocumentCard.qml" line="52" />
            <source>The document does not fit in the context. Truncate it to the part that fits, or summarize it in parts (each part is summarized, then the summaries are combined).</source>
            <translation>文档超出了上下文长度。可以截断为能放下的部分，或分段总结（先逐段总结，再合并各段摘要）。</translation>
        </message>
        <message>
            <location filename="../app/qml/DocumentCard.qml" line="63" />
            <source>Summarize in parts</source>
            <translation>分段总结</translation>
        </message>
        <message>
            <location filename="../app/qml/DocumentCard.qml" line="63" />
            <source>Truncate to fit</source>
            <translation>截断以适应</translation>
        </message>
        <message>
            <location filename="../app/qml/DocumentCard.qml" line="66" />
            <source>Summarize</source>
            <translation>总结</translation>
        </message>
        <message>
            <location filename="../app/qml/DocumentCard.qml" line="70" />
            <source>or type a question below and press Enter to ask about it</source>
            <translation>或在下方输入问题并按 Enter 提问</translation>
        </message>
    </context>
    <context>
        <name>EngineWorker</name>
        <message>
            <location filename="../app/core/engineworker.cpp" line="71" />
            <source>Loading was cancelled.</source>
            <translation>已取消加载。</translation>
        </message>
        <message>
            <location filename="../app/core/engineworker.cpp" line="76" />
            <source>Could not load the model from %1: %2</source>
            <translation>无法从 %1 加载模型：%2</translation>
        </message>
        <message>
            <location filename="../app/core/engineworker.cpp" line="125" />
            <source>No model is loaded.</source>
            <translation>尚未加载模型。</translation>
        </message>
        <message>
            <location filename="../app/core/engineworker.cpp" line="169" />
            <source>The conversation needs %1 tokens, more than the context of %2 tokens. Start a new conversation or load the model with a longer context.</source>
            <translation>此对话需要 %1 个词元，超过了 %2 个词元的上下文。请开始新对话，或以更长的上下文重新加载模型。</translation>
        </message>
        <message>
            <location filename="../app/core/engineworker.cpp" line="247" />
            <source>Generation failed: %1</source>
            <translation>生成失败：%1</translation>
        </message>
    </context>
    <context>
        <name>Main</name>
        <message>
            <location filename="../app/qml/Main.qml" line="15" />
            <source>GLM Chat</source>
            <translation>GLM Chat</translation>
        </message>
        <message>
            <location filename="../app/qml/Main.qml" line="15" />
            <source>%1 — GLM Chat</source>
            <translation>%1 — GLM Chat</translation>
        </message>
        <message>
            <location filename="../app/qml/Main.qml" line="96" />
            <source>Drop a document to attach it</source>
            <translation>松开以附加文档</translation>
        </message>
        <message>
            <location filename="../app/qml/Main.qml" line="118" />
            <source>Conversation deleted</source>
            <translation>对话已删除</translation>
        </message>
        <message>
            <location filename="../app/qml/Main.qml" line="119" />
            <source>Undo</source>
            <translation>撤销</translation>
        </message>
        <message>
            <source>Offline chat with GLM-4 models. 你好！</source>
            <translation type="vanished">离线使用 GLM-4 模型聊天。你好！</translation>
        </message>
        <message>
            <source>Engine %1</source>
            <translation type="vanished">引擎 %1</translation>
        </message>
    </context>
    <context>
        <name>MessageDelegate</name>
        <message>
            <location filename="../app/qml/MessageDelegate.qml" line="31" />
            <source>You</source>
            <translation>你</translation>
        </message>
        <message>
            <location filename="../app/qml/MessageDelegate.qml" line="31" />
            <source>Assistant</source>
            <translation>助手</translation>
        </message>
        <message>
            <location filename="../app/qml/MessageDelegate.qml" line="94" />
            <source>Cancel</source>
            <translation>取消</translation>
        </message>
        <message>
            <location filename="../app/qml/MessageDelegate.qml" line="96" />
            <source>Send as new branch</source>
            <translation>作为新分支发送</translation>
        </message>
        <message>
            <location filename="../app/qml/MessageDelegate.qml" line="113" />
            <source>Previous branch</source>
            <translation>上一个分支</translation>
        </message>
        <message>
            <location filename="../app/qml/MessageDelegate.qml" line="117" />
            <source>%1 / %2</source>
            <translation>%1 / %2</translation>
        </message>
        <message>
            <location filename="../app/qml/MessageDelegate.qml" line="125" />
            <source>Next branch</source>
            <translation>下一个分支</translation>
        </message>
        <message>
            <location filename="../app/qml/MessageDelegate.qml" line="128" />
            <source>Copy</source>
            <translation>复制</translation>
        </message>
        <message>
            <location filename="../app/qml/MessageDelegate.qml" line="134" />
            <source>Edit</source>
            <translation>编辑</translation>
        </message>
        <message>
            <location filename="../app/qml/MessageDelegate.qml" line="141" />
            <source>Regenerate</source>
            <translation>重新生成</translation>
        </message>
        <message numerus="yes">
            <location filename="../app/qml/MessageDelegate.qml" line="148" />
            <source>%n tokens</source>
            <translation>
                <numerusform>%n 个词元</numerusform>
            </translation>
        </message>
        <message>
            <location filename="../app/qml/MessageDelegate.qml" line="154" />
            <source>stopped</source>
            <translation>已停止</translation>
        </message>
        <message>
            <location filename="../app/qml/MessageDelegate.qml" line="154" />
            <source>failed</source>
            <translation>失败</translation>
        </message>
        <message>
            <location filename="../app/qml/MessageDelegate.qml" line="195" />
            <source>code</source>
            <translation>代码</translation>
        </message>
        <message>
            <location filename="../app/qml/MessageDelegate.qml" line="206" />
            <source>Copied</source>
            <translation>已复制</translation>
        </message>
        <message>
            <location filename="../app/qml/MessageDelegate.qml" line="206" />
            <source>Copy code</source>
            <translation>复制代码</translation>
        </message>
    </context>
    <context>
        <name>ModelPicker</name>
        <message>
            <location filename="../app/qml/ModelPicker.qml" line="18" />
            <source>Choose a model</source>
            <translation>选择模型</translation>
        </message>
        <message>
            <location filename="../app/qml/ModelPicker.qml" line="24" />
            <source>Open model folder…</source>
            <translation>打开模型文件夹……</translation>
        </message>
        <message>
            <location filename="../app/qml/ModelPicker.qml" line="33" />
            <source>Loading %1… %2%</source>
            <translation>正在加载 %1…… %2%</translation>
        </message>
        <message>
            <location filename="../app/qml/ModelPicker.qml" line="34" />
            <source>Looking for GLM models on this computer…</source>
            <translation>正在本机查找 GLM 模型……</translation>
        </message>
        <message>
            <location filename="../app/qml/ModelPicker.qml" line="35" />
            <source>Models found on this computer (memory needed at a context of %1 tokens):</source>
            <translation>在本机找到的模型（上下文为 %1 个词元时所需内存）：</translation>
        </message>
        <message>
            <location filename="../app/qml/ModelPicker.qml" line="36" />
            <source>No GLM model was found in ~/models or the Hugging Face cache. Open a model folder (config.json, *.safetensors and the tokenizer).</source>
            <translation>在 ~/models 和 Hugging Face 缓存中没有找到 GLM 模型。请打开一个模型文件夹（含 config.json、*.safetensors 和分词器）。</translation>
        </message>
        <message>
            <location filename="../app/qml/ModelPicker.qml" line="74" />
            <source>recent</source>
            <translation>最近使用</translation>
        </message>
        <message>
            <location filename="../app/qml/ModelPicker.qml" line="76" />
            <source>cannot be used</source>
            <translation>无法使用</translation>
        </message>
        <message>
            <location filename="../app/qml/ModelPicker.qml" line="76" />
            <source>%1 · %2 parameters · needs %3 (%4, %5 KV cache)</source>
            <translation>%1 · %2 参数 · 需要 %3（%4，KV 缓存 %5）</translation>
        </message>
        <message>
            <location filename="../app/qml/ModelPicker.qml" line="92" />
            <source>by KV cache: %1</source>
            <translation>按 KV 缓存：%1</translation>
        </message>
        <message>
            <source>%1 · %2 parameters · needs %3 (%4)</source>
            <translation type="vanished">%1 · %2 参数 · 需要 %3（%4）</translation>
        </message>
        <message>
            <location filename="../app/qml/ModelPicker.qml" line="84" />
            <source>by weight format: %1</source>
            <translation>按权重格式：%1</translation>
        </message>
        <message>
            <source>%1 · %2 parameters · needs %3</source>
            <translation type="vanished">%1 · %2 参数 · 需要 %3</translation>
        </message>
        <message>
            <location filename="../app/qml/ModelPicker.qml" line="112" />
            <source>Open a GLM model folder</source>
            <translation>打开 GLM 模型文件夹</translation>
        </message>
    </context>
    <context>
        <name>PluginsAddServerForm</name>
        <message>
            <location filename="../app/qml/PluginsAddServerForm.qml" line="27" />
            <source>Add an MCP server</source>
            <translation>添加 MCP 服务器</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsAddServerForm.qml" line="28" />
            <source>Name</source>
            <translation>名称</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsAddServerForm.qml" line="29" />
            <source>e.g. weather</source>
            <translation>例如 weather</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsAddServerForm.qml" line="30" />
            <source>Command</source>
            <translation>命令</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsAddServerForm.qml" line="31" />
            <source>e.g. /usr/bin/python3</source>
            <translation>例如 /usr/bin/python3</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsAddServerForm.qml" line="32" />
            <source>Arguments</source>
            <translation>参数</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsAddServerForm.qml" line="33" />
            <source>e.g. server.py --stdio</source>
            <translation>例如 server.py --stdio</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsAddServerForm.qml" line="34" />
            <source>Environment</source>
            <translation>环境变量</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsAddServerForm.qml" line="39" />
            <source>KEY=value, one per line</source>
            <translation>KEY=value，每行一个</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsAddServerForm.qml" line="42" />
            <source>Working folder</source>
            <translation>工作目录</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsAddServerForm.qml" line="43" />
            <source>optional</source>
            <translation>可选</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsAddServerForm.qml" line="47" />
            <source>The server could not be added: check the name (unique) and the command.</source>
            <translation>无法添加服务器：请检查名称（不可重复）和命令。</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsAddServerForm.qml" line="55" />
            <source>Add server</source>
            <translation>添加服务器</translation>
        </message>
    </context>
    <context>
        <name>PluginsDialog</name>
        <message>
            <location filename="../app/qml/PluginsDialog.qml" line="11" />
            <source>Plugins</source>
            <translation>插件</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsDialog.qml" line="18" />
            <source>Close</source>
            <translation>关闭</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsDialog.qml" line="35" />
            <source>The switches choose the plugins this conversation offers the model. Every call asks you first unless its tool is set to Always allow.</source>
            <translation>开关决定此对话向模型提供哪些插件。除非工具设为“始终允许”，否则每次调用都会先征求你的同意。</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsDialog.qml" line="36" />
            <source>Plugins are unavailable: the conversation store could not be opened.</source>
            <translation>插件不可用：无法打开对话存储。</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsDialog.qml" line="41" />
            <source>Tool calls in a row (at most)</source>
            <translation>连续工具调用次数（上限）</translation>
        </message>
    </context>
    <context>
        <name>PluginsEntry</name>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="21" />
            <source>Calculator</source>
            <translation>计算器</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="22" />
            <source>Date and time</source>
            <translation>日期和时间</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="23" />
            <source>Files you allowed</source>
            <translation>你允许访问的文件</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="24" />
            <source>Search your conversations</source>
            <translation>搜索你的对话</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="40" />
            <source>MCP server · %1</source>
            <translation>MCP 服务器 · %1</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="40" />
            <source>running</source>
            <translation>运行中</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="40" />
            <source>starting</source>
            <translation>正在启动</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="40" />
            <source>not running</source>
            <translation>未运行</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="40" />
            <source>built-in</source>
            <translation>内置</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="47" />
            <source>In this conversation</source>
            <translation>在此对话中启用</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="72" />
            <source>No tools listed yet: start the server to list them.</source>
            <translation>尚未列出工具：启动服务器后即可列出。</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="72" />
            <source>No tools.</source>
            <translation>没有工具。</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="98" />
            <source>Ask</source>
            <translation>每次询问</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="98" />
            <source>Always allow</source>
            <translation>始终允许</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="99" />
            <source>Deny</source>
            <translation>拒绝</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="117" />
            <location filename="../app/qml/PluginsEntry.qml" line="127" />
            <source>Remove</source>
            <translation>移除</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="120" />
            <source>Allow a folder…</source>
            <translation>允许访问文件夹……</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="125" />
            <source>Start / restart</source>
            <translation>启动 / 重启</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="126" />
            <source>Hide log</source>
            <translation>隐藏日志</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="126" />
            <source>Show log</source>
            <translation>显示日志</translation>
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="148" />
            <source>The log is empty.</source>
            <translation>日志为空。</translation>
        </message>
    </context>
    <context>
        <name>QObject</name>
        <message>
            <location filename="../app/core/documentimport.cpp" line="26" />
            <source>%1 is not a text file (it contains binary data).</source>
            <translation>%1 不是文本文件（包含二进制数据）。</translation>
        </message>
        <message>
            <location filename="../app/core/documentimport.cpp" line="38" />
            <source>%1 is not a readable .docx file (not a zip archive).</source>
            <translation>%1 不是可读取的 .docx 文件（不是 zip 压缩包）。</translation>
        </message>
        <message>
            <location filename="../app/core/documentimport.cpp" line="42" />
            <source>%1 is not a Word document (word/document.xml is missing).</source>
            <translation>%1 不是 Word 文档（缺少 word/document.xml）。</translation>
        </message>
        <message>
            <location filename="../app/core/documentimport.cpp" line="47" />
            <source>Cannot read word/document.xml in %1.</source>
            <translation>无法读取 %1 中的 word/document.xml。</translation>
        </message>
        <message>
            <location filename="../app/core/documentimport.cpp" line="64" />
            <source>%1: the document's XML is damaged (%2).</source>
            <translation>%1：文档的 XML 已损坏（%2）。</translation>
        </message>
        <message>
            <location filename="../app/core/documentimport.cpp" line="75" />
            <source>%1 is protected by a password.</source>
            <translation>%1 受密码保护。</translation>
        </message>
        <message>
            <location filename="../app/core/documentimport.cpp" line="76" />
            <source>%1 is not a readable PDF file.</source>
            <translation>%1 不是可读取的 PDF 文件。</translation>
        </message>
        <message>
            <location filename="../app/core/documentimport.cpp" line="85" />
            <source>%1 has no text layer (a scanned PDF?); text recognition is not supported.</source>
            <translation>%1 没有文本层（可能是扫描版 PDF），不支持文字识别。</translation>
        </message>
        <message>
            <location filename="../app/core/documentimport.cpp" line="106" />
            <source>%1 does not exist.</source>
            <translation>%1 不存在。</translation>
        </message>
        <message>
            <location filename="../app/core/documentimport.cpp" line="110" />
            <source>%1 cannot be read (not a file, or no permission).</source>
            <translation>无法读取 %1（不是文件，或没有权限）。</translation>
        </message>
        <message>
            <location filename="../app/core/documentimport.cpp" line="125" />
            <source>Cannot open %1: %2</source>
            <translation>无法打开 %1：%2</translation>
        </message>
    </context>
    <context>
        <name>SettingsDialog</name>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="9" />
            <source>Settings</source>
            <translation>设置</translation>
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="15" />
            <source>Close</source>
            <translation>关闭</translation>
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="30" />
            <source>Theme</source>
            <translation>主题</translation>
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="35" />
            <source>Follow the system</source>
            <translation>跟随系统</translation>
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="35" />
            <source>Light</source>
            <translation>浅色</translation>
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="35" />
            <source>Dark</source>
            <translation>深色</translation>
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="40" />
            <source>Language</source>
            <translation>语言</translation>
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="51" />
            <source>Backend</source>
            <translation>后端</translation>
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="57" />
            <source>Automatic (best available)</source>
            <translation>自动（选择最佳可用）</translation>
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="58" />
            <source>CPU</source>
            <translation>CPU</translation>
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="63" />
            <source>GPU (Vulkan)</source>
            <translation>GPU（Vulkan）</translation>
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="75" />
            <source>Weights</source>
            <translation>权重</translation>
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="83" />
            <source>bf16 (as downloaded)</source>
            <translation>bf16（下载时的格式）</translation>
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="83" />
            <location filename="../app/qml/SettingsDialog.qml" line="98" />
            <source>int8 (half the memory)</source>
            <translation>int8（约一半内存）</translation>
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="84" />
            <source>int4 (a third of the memory)</source>
            <translation>int4（约三分之一内存）</translation>
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="85" />
            <source>int4, groups of 128 (smallest)</source>
            <translation>int4，128 一组（最小）</translation>
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="90" />
            <source>KV cache</source>
            <translation>KV 缓存</translation>
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="98" />
            <source>bf16</source>
            <translation>bf16</translation>
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="99" />
            <source>f32 (CPU only; GPUs keep bf16)</source>
            <translation>f32（仅 CPU；GPU 使用 bf16）</translation>
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="104" />
            <source>Context length</source>
            <translation>上下文长度</translation>
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="109" />
            <source>%1 tokens</source>
            <translation>%1 个词元</translation>
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="120" />
            <source>Now: %1 on %2, context %3 tokens. %4</source>
            <translation>当前：%1，运行于 %2，上下文 %3 个词元。%4</translation>
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="121" />
            <source>No model loaded.</source>
            <translation>未加载模型。</translation>
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="125" />
            <source>Reload the model with these settings</source>
            <translation>用这些设置重新加载模型</translation>
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="129" />
            <source>This conversation</source>
            <translation>当前对话</translation>
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="130" />
            <source>Temperature</source>
            <translation>温度</translation>
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="140" />
            <source>Top-p</source>
            <translation>Top-p</translation>
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="150" />
            <source>Longest reply</source>
            <translation>最长回复（词元）</translation>
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="161" />
            <source>Shortcuts: Ctrl+N new chat · Ctrl+F search · Ctrl+, settings · Esc stop · Ctrl+Shift+P system prompts</source>
            <translation>快捷键：Ctrl+N 新聊天 · Ctrl+F 搜索 · Ctrl+, 设置 · Esc 停止 · Ctrl+Shift+P 系统提示词</translation>
        </message>
    </context>
    <context>
        <name>Sidebar</name>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="23" />
            <source>New chat</source>
            <translation>新聊天</translation>
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="26" />
            <source>New chat (Ctrl+N)</source>
            <translation>新聊天（Ctrl+N）</translation>
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="31" />
            <source>Search chats (Ctrl+F)</source>
            <translation>搜索聊天（Ctrl+F）</translation>
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="93" />
            <source>Conversation actions</source>
            <translation>对话操作</translation>
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="99" />
            <source>Rename</source>
            <translation>重命名</translation>
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="100" />
            <source>Unpin</source>
            <translation>取消置顶</translation>
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="100" />
            <source>Pin</source>
            <translation>置顶</translation>
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="101" />
            <source>Export as Markdown…</source>
            <translation>导出为 Markdown……</translation>
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="102" />
            <source>Export as JSON…</source>
            <translation>导出为 JSON……</translation>
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="104" />
            <source>Delete</source>
            <translation>删除</translation>
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="114" />
            <source>No chat matches "%1".</source>
            <translation>没有与“%1”匹配的聊天。</translation>
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="114" />
            <source>No chats yet.</source>
            <translation>还没有聊天。</translation>
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="121" />
            <source>Import…</source>
            <translation>导入……</translation>
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="122" />
            <source>Prompts</source>
            <translation>提示词</translation>
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="123" />
            <source>Plugins</source>
            <translation>插件</translation>
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="129" />
            <source>Settings</source>
            <translation>设置</translation>
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="132" />
            <source>Settings (Ctrl+,)</source>
            <translation>设置（Ctrl+,）</translation>
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="141" />
            <source>Markdown (*.md)</source>
            <translation>Markdown (*.md)</translation>
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="141" />
            <source>JSON (*.json)</source>
            <translation>JSON (*.json)</translation>
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="147" />
            <source>GLM Chat conversation (*.json)</source>
            <translation>GLM Chat 对话 (*.json)</translation>
        </message>
    </context>
    <context>
        <name>StatusLine</name>
        <message>
            <location filename="../app/qml/StatusLine.qml" line="23" />
            <source>No model — choose one</source>
            <translation>未选择模型 — 点此选择</translation>
        </message>
        <message>
            <location filename="../app/qml/StatusLine.qml" line="24" />
            <source>Loading %1…</source>
            <translation>正在加载 %1……</translation>
        </message>
        <message>
            <location filename="../app/qml/StatusLine.qml" line="25" />
            <source>Model failed to load — choose another</source>
            <translation>模型加载失败 — 请另选一个</translation>
        </message>
        <message>
            <location filename="../app/qml/StatusLine.qml" line="29" />
            <source>Memory: %1</source>
            <translation>内存：%1</translation>
        </message>
        <message>
            <location filename="../app/qml/StatusLine.qml" line="38" />
            <source>Backend: %1</source>
            <translation>后端：%1</translation>
        </message>
        <message>
            <location filename="../app/qml/StatusLine.qml" line="47" />
            <source>%1 tokens/s</source>
            <translation>%1 词元/秒</translation>
        </message>
        <message>
            <location filename="../app/qml/StatusLine.qml" line="53" />
            <source>Context: %1 / %2</source>
            <translation>上下文：%1 / %2</translation>
        </message>
        <message>
            <location filename="../app/qml/StatusLine.qml" line="58" />
            <source>Last prompt: %1 tokens reused from the cache, %2 computed</source>
            <translation>上一次提示：从缓存复用 %1 个词元，新计算 %2 个</translation>
        </message>
    </context>
    <context>
        <name>SystemPromptsDialog</name>
        <message>
            <location filename="../app/qml/SystemPromptsDialog.qml" line="10" />
            <source>System prompts</source>
            <translation>系统提示词</translation>
        </message>
        <message>
            <location filename="../app/qml/SystemPromptsDialog.qml" line="17" />
            <source>Close</source>
            <translation>关闭</translation>
        </message>
        <message>
            <location filename="../app/qml/SystemPromptsDialog.qml" line="50" />
            <source>%1 (default)</source>
            <translation>%1（默认）</translation>
        </message>
        <message>
            <location filename="../app/qml/SystemPromptsDialog.qml" line="62" />
            <location filename="../app/qml/SystemPromptsDialog.qml" line="64" />
            <source>New preset</source>
            <translation>新建预设</translation>
        </message>
        <message>
            <location filename="../app/qml/SystemPromptsDialog.qml" line="75" />
            <source>Name</source>
            <translation>名称</translation>
        </message>
        <message>
            <location filename="../app/qml/SystemPromptsDialog.qml" line="79" />
            <source>You are a helpful assistant…</source>
            <translation>你是一个乐于助人的助手……</translation>
        </message>
        <message>
            <location filename="../app/qml/SystemPromptsDialog.qml" line="82" />
            <source>Save</source>
            <translation>保存</translation>
        </message>
        <message>
            <location filename="../app/qml/SystemPromptsDialog.qml" line="83" />
            <source>Make default</source>
            <translation>设为默认</translation>
        </message>
        <message>
            <location filename="../app/qml/SystemPromptsDialog.qml" line="85" />
            <source>Delete</source>
            <translation>删除</translation>
        </message>
        <message>
            <location filename="../app/qml/SystemPromptsDialog.qml" line="91" />
            <source>This conversation</source>
            <translation>当前对话</translation>
        </message>
        <message>
            <location filename="../app/qml/SystemPromptsDialog.qml" line="100" />
            <source>No preset</source>
            <translation>不使用预设</translation>
        </message>
        <message>
            <location filename="../app/qml/SystemPromptsDialog.qml" line="108" />
            <source>Or type a prompt for this conversation only</source>
            <translation>或输入仅用于此对话的提示词</translation>
        </message>
    </context>
    <context>
        <name>ToolCallCard</name>
        <message>
            <location filename="../app/qml/ToolCallCard.qml" line="48" />
            <source>Collapse</source>
            <translation>收起</translation>
        </message>
        <message>
            <location filename="../app/qml/ToolCallCard.qml" line="48" />
            <source>Expand</source>
            <translation>展开</translation>
        </message>
        <message>
            <location filename="../app/qml/ToolCallCard.qml" line="51" />
            <source>Result of %1</source>
            <translation>%1 的结果</translation>
        </message>
        <message>
            <location filename="../app/qml/ToolCallCard.qml" line="51" />
            <source>Tool call: %1</source>
            <translation>工具调用：%1</translation>
        </message>
        <message>
            <location filename="../app/qml/ToolCallCard.qml" line="63" />
            <source>ok</source>
            <translation>成功</translation>
        </message>
        <message>
            <location filename="../app/qml/ToolCallCard.qml" line="64" />
            <source>error</source>
            <translation>出错</translation>
        </message>
        <message>
            <location filename="../app/qml/ToolCallCard.qml" line="65" />
            <source>denied</source>
            <translation>已拒绝</translation>
        </message>
        <message>
            <location filename="../app/qml/ToolCallCard.qml" line="66" />
            <source>stopped</source>
            <translation>已停止</translation>
        </message>
        <message>
            <location filename="../app/qml/ToolCallCard.qml" line="67" />
            <source>calling…</source>
            <translation>正在调用……</translation>
        </message>
        <message>
            <source>arguments</source>
            <translation type="vanished">参数</translation>
        </message>
    </context>
    <context>
        <name>ToolConsentCard</name>
        <message>
            <location filename="../app/qml/ToolConsentCard.qml" line="34" />
            <source>The model wants to call %1 (%2)</source>
            <translation>模型想要调用 %1（%2）</translation>
        </message>
        <message>
            <location filename="../app/qml/ToolConsentCard.qml" line="35" />
            <source>built-in</source>
            <translation>内置</translation>
        </message>
        <message>
            <location filename="../app/qml/ToolConsentCard.qml" line="64" />
            <source>Deny</source>
            <translation>拒绝</translation>
        </message>
        <message>
            <location filename="../app/qml/ToolConsentCard.qml" line="70" />
            <source>Always allow this tool</source>
            <translation>始终允许此工具</translation>
        </message>
        <message>
            <location filename="../app/qml/ToolConsentCard.qml" line="76" />
            <source>Allow once</source>
            <translation>允许一次</translation>
        </message>
    </context>
</TS>