<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en">
    <context>
        <name>ChatController</name>
        <message>
            <location filename="../app/core/chatcontroller.cpp" line="31" />
            <source>New conversation</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/core/chatcontroller.cpp" line="258" />
            <source>Cannot write %1: %2</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/core/chatcontroller.cpp" line="272" />
            <source>Cannot read %1: %2</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/core/chatcontroller.cpp" line="278" />
            <source>%1 is not valid JSON: %2</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/core/chatcontroller.cpp" line="284" />
            <source>Cannot import %1: %2</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/core/chatcontroller.cpp" line="302" />
            <location filename="../app/core/chatcontroller.cpp" line="591" />
            <location filename="../app/core/chatcontroller.cpp" line="781" />
            <source>Load a model first.</source>
            <translation type="unfinished" />
        </message>
        <message numerus="yes">
            <location filename="../app/core/chatcontroller.cpp" line="618" />
            <source>… %n more characters (copy the message to see all of it)</source>
            <translation>
                <numerusform>… %n more character (copy the message to see all of it)</numerusform>
                <numerusform>… %n more characters (copy the message to see all of it)</numerusform>
            </translation>
        </message>
        <message>
            <location filename="../app/core/chatcontroller.cpp" line="658" />
            <source>Untitled prompt</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/core/chatcontroller.cpp" line="748" />
            <source>Document: %1</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/core/chatcontroller.cpp" line="757" />
            <source>Summarize this document.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/core/chatcontroller.cpp" line="761" />
            <source>The document needs about %1 tokens but only %2 are free: choose Truncate or Summarize in parts.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/core/chatcontroller.cpp" line="774" />
            <source>truncated by the user to its first %1%</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/core/chatcontroller.cpp" line="799" />
            <source>Summarizing part %1 of %2</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/core/chatcontroller.cpp" line="801" />
            <source>This is part %1 of %2 of the document "%3". Summarize it, keeping every fact, name and number that matters.

"""
%4
"""</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/core/chatcontroller.cpp" line="810" />
            <source>Part %1: %2</source>
            <translation type="unfinished" />
        </message>
        <message numerus="yes">
            <location filename="../app/core/chatcontroller.cpp" line="811" />
            <source>summarized in %n parts</source>
            <translation>
                <numerusform>summarized in %n part</numerusform>
                <numerusform>summarized in %n parts</numerusform>
            </translation>
        </message>
        <message>
            <location filename="../app/core/chatcontroller.cpp" line="822" />
            <source>Best GPU</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/core/chatcontroller.cpp" line="830" />
            <source>Best GPU (Vulkan: %1)</source>
            <translation type="unfinished" />
        </message>
    </context>
    <context>
        <name>Composer</name>
        <message>
            <location filename="../app/qml/Composer.qml" line="27" />
            <source>Reading the prompt: %1% · about %2 s left</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/Composer.qml" line="28" />
            <source>Reading the prompt: %1%</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/Composer.qml" line="30" />
            <source>Cancel</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/Composer.qml" line="52" />
            <source>Attach a document (txt, md, code, html, pdf, docx)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/Composer.qml" line="53" />
            <source>Attach a document</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/Composer.qml" line="66" />
            <source>Message GLM (Enter to send, Shift+Enter for a new line)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/Composer.qml" line="67" />
            <source>Load a model to start chatting</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/Composer.qml" line="78" />
            <source>Stop</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/Composer.qml" line="78" />
            <source>Send</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/Composer.qml" line="82" />
            <source>Stop (Esc)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/Composer.qml" line="99" />
            <source>Documents (%1)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/Composer.qml" line="99" />
            <source>All files (*)</source>
            <translation type="unfinished" />
        </message>
    </context>
    <context>
        <name>ConversationView</name>
        <message>
            <location filename="../app/qml/ConversationView.qml" line="39" />
            <source>GLM Chat</source>
            <translation type="unfinished">GLM Chat</translation>
        </message>
        <message>
            <location filename="../app/qml/ConversationView.qml" line="51" />
            <source>Ask anything, or drop a document (PDF, Word, Markdown, HTML, code) to summarize it or ask about it.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/ConversationView.qml" line="52" />
            <source>Offline chat with GLM models. Everything stays on this computer.</source>
            <translation type="unfinished" />
        </message>
    </context>
    <context>
        <name>DocumentCard</name>
        <message>
            <location filename="../app/qml/DocumentCard.qml" line="33" />
            <source>Reading the document…</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/DocumentCard.qml" line="36" />
            <source>%1 tokens</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/DocumentCard.qml" line="36" />
            <source>about %1 tokens</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/DocumentCard.qml" line="37" />
            <source>%1 free in the context</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/DocumentCard.qml" line="45" />
            <source>Remove the document</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/DocumentCard.qml" line="52" />
            <source>The document does not fit in the context. Truncate it to the part that fits, or summarize it in parts (each part is summarized, then the summaries are combined).</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/DocumentCard.qml" line="63" />
            <source>Summarize in parts</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/DocumentCard.qml" line="63" />
            <source>Truncate to fit</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/DocumentCard.qml" line="66" />
            <source>Summarize</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/DocumentCard.qml" line="70" />
            <source>or type a question below and press Enter to ask about it</source>
            <translation type="unfinished" />
        </message>
    </context>
    <context>
        <name>EngineWorker</name>
        <message>
            <location filename="../app/core/engineworker.cpp" line="71" />
            <source>Loading was cancelled.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/core/engineworker.cpp" line="76" />
            <source>Could not load the model from %1: %2</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/core/engineworker.cpp" line="125" />
            <source>No model is loaded.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/core/engineworker.cpp" line="169" />
            <source>The conversation needs %1 tokens, more than the context of %2 tokens. Start a new conversation or load the model with a longer context.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/core/engineworker.cpp" line="247" />
            <source>Generation failed: %1</source>
            <translation type="unfinished" />
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
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/Main.qml" line="96" />
            <source>Drop a document to attach it</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/Main.qml" line="118" />
            <source>Conversation deleted</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/Main.qml" line="119" />
            <source>Undo</source>
            <translation type="unfinished" />
        </message>
        <message>
            <source>Offline chat with GLM-4 models. 你好！</source>
            <translation type="vanished">Offline chat with GLM-4 models. 你好！</translation>
        </message>
        <message>
            <source>Engine %1</source>
            <translation type="vanished">Engine %1</translation>
        </message>
    </context>
    <context>
        <name>MessageDelegate</name>
        <message>
            <location filename="../app/qml/MessageDelegate.qml" line="31" />
            <source>You</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/MessageDelegate.qml" line="31" />
            <source>Assistant</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/MessageDelegate.qml" line="94" />
            <source>Cancel</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/MessageDelegate.qml" line="96" />
            <source>Send as new branch</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/MessageDelegate.qml" line="113" />
            <source>Previous branch</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/MessageDelegate.qml" line="117" />
            <source>%1 / %2</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/MessageDelegate.qml" line="125" />
            <source>Next branch</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/MessageDelegate.qml" line="128" />
            <source>Copy</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/MessageDelegate.qml" line="134" />
            <source>Edit</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/MessageDelegate.qml" line="141" />
            <source>Regenerate</source>
            <translation type="unfinished" />
        </message>
        <message numerus="yes">
            <location filename="../app/qml/MessageDelegate.qml" line="148" />
            <source>%n tokens</source>
            <translation>
                <numerusform>%n token</numerusform>
                <numerusform>%n tokens</numerusform>
            </translation>
        </message>
        <message>
            <location filename="../app/qml/MessageDelegate.qml" line="154" />
            <source>stopped</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/MessageDelegate.qml" line="154" />
            <source>failed</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/MessageDelegate.qml" line="195" />
            <source>code</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/MessageDelegate.qml" line="206" />
            <source>Copied</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/MessageDelegate.qml" line="206" />
            <source>Copy code</source>
            <translation type="unfinished" />
        </message>
    </context>
    <context>
        <name>ModelPicker</name>
        <message>
            <location filename="../app/qml/ModelPicker.qml" line="18" />
            <source>Choose a model</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/ModelPicker.qml" line="24" />
            <source>Open model folder…</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/ModelPicker.qml" line="33" />
            <source>Loading %1… %2%</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/ModelPicker.qml" line="34" />
            <source>Looking for GLM models on this computer…</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/ModelPicker.qml" line="35" />
            <source>Models found on this computer (memory needed at a context of %1 tokens):</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/ModelPicker.qml" line="36" />
            <source>No GLM model was found in ~/models or the Hugging Face cache. Open a model folder (config.json, *.safetensors and the tokenizer).</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/ModelPicker.qml" line="74" />
            <source>recent</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/ModelPicker.qml" line="76" />
            <source>cannot be used</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/ModelPicker.qml" line="76" />
            <source>%1 · %2 parameters · needs %3 (%4, %5 KV cache)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/ModelPicker.qml" line="84" />
            <source>by weight format: %1</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/ModelPicker.qml" line="92" />
            <source>by KV cache: %1</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/ModelPicker.qml" line="112" />
            <source>Open a GLM model folder</source>
            <translation type="unfinished" />
        </message>
    </context>
    <context>
        <name>PluginsAddServerForm</name>
        <message>
            <location filename="../app/qml/PluginsAddServerForm.qml" line="27" />
            <source>Add an MCP server</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsAddServerForm.qml" line="28" />
            <source>Name</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsAddServerForm.qml" line="29" />
            <source>e.g. weather</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsAddServerForm.qml" line="30" />
            <source>Command</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsAddServerForm.qml" line="31" />
            <source>e.g. /usr/bin/python3</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsAddServerForm.qml" line="32" />
            <source>Arguments</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsAddServerForm.qml" line="33" />
            <source>e.g. server.py --stdio</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsAddServerForm.qml" line="34" />
            <source>Environment</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsAddServerForm.qml" line="39" />
            <source>KEY=value, one per line</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsAddServerForm.qml" line="42" />
            <source>Working folder</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsAddServerForm.qml" line="43" />
            <source>optional</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsAddServerForm.qml" line="47" />
            <source>The server could not be added: check the name (unique) and the command.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsAddServerForm.qml" line="55" />
            <source>Add server</source>
            <translation type="unfinished" />
        </message>
    </context>
    <context>
        <name>PluginsDialog</name>
        <message>
            <location filename="../app/qml/PluginsDialog.qml" line="11" />
            <source>Plugins</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsDialog.qml" line="18" />
            <source>Close</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsDialog.qml" line="35" />
            <source>The switches choose the plugins this conversation offers the model. Every call asks you first unless its tool is set to Always allow.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsDialog.qml" line="36" />
            <source>Plugins are unavailable: the conversation store could not be opened.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsDialog.qml" line="41" />
            <source>Tool calls in a row (at most)</source>
            <translation type="unfinished" />
        </message>
    </context>
    <context>
        <name>PluginsEntry</name>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="21" />
            <source>Calculator</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="22" />
            <source>Date and time</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="23" />
            <source>Files you allowed</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="24" />
            <source>Search your conversations</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="40" />
            <source>MCP server · %1</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="40" />
            <source>running</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="40" />
            <source>starting</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="40" />
            <source>not running</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="40" />
            <source>built-in</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="47" />
            <source>In this conversation</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="72" />
            <source>No tools listed yet: start the server to list them.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="72" />
            <source>No tools.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="98" />
            <source>Ask</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="98" />
            <source>Always allow</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="99" />
            <source>Deny</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="117" />
            <location filename="../app/qml/PluginsEntry.qml" line="127" />
            <source>Remove</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="120" />
            <source>Allow a folder…</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="125" />
            <source>Start / restart</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="126" />
            <source>Hide log</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="126" />
            <source>Show log</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/PluginsEntry.qml" line="148" />
            <source>The log is empty.</source>
            <translation type="unfinished" />
        </message>
    </context>
    <context>
        <name>QObject</name>
        <message>
            <location filename="../app/core/documentimport.cpp" line="26" />
            <source>%1 is not a text file (it contains binary data).</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/core/documentimport.cpp" line="38" />
            <source>%1 is not a readable .docx file (not a zip archive).</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/core/documentimport.cpp" line="42" />
            <source>%1 is not a Word document (word/document.xml is missing).</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/core/documentimport.cpp" line="47" />
            <source>Cannot read word/document.xml in %1.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/core/documentimport.cpp" line="64" />
            <source>%1: the document's XML is damaged (%2).</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/core/documentimport.cpp" line="75" />
            <source>%1 is protected by a password.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/core/documentimport.cpp" line="76" />
            <source>%1 is not a readable PDF file.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/core/documentimport.cpp" line="85" />
            <source>%1 has no text layer (a scanned PDF?); text recognition is not supported.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/core/documentimport.cpp" line="106" />
            <source>%1 does not exist.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/core/documentimport.cpp" line="110" />
            <source>%1 cannot be read (not a file, or no permission).</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/core/documentimport.cpp" line="125" />
            <source>Cannot open %1: %2</source>
            <translation type="unfinished" />
        </message>
    </context>
    <context>
        <name>SettingsDialog</name>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="9" />
            <source>Settings</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="15" />
            <source>Close</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="30" />
            <source>Theme</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="35" />
            <source>Follow the system</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="35" />
            <source>Light</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="35" />
            <source>Dark</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="40" />
            <source>Language</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="51" />
            <source>Backend</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="57" />
            <source>Automatic (best available)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="58" />
            <source>CPU</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="63" />
            <source>GPU (Vulkan)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="75" />
            <source>Weights</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="83" />
            <source>bf16 (as downloaded)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="83" />
            <location filename="../app/qml/SettingsDialog.qml" line="98" />
            <source>int8 (half the memory)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="84" />
            <source>int4 (a third of the memory)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="85" />
            <source>int4, groups of 128 (smallest)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="90" />
            <source>KV cache</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="98" />
            <source>bf16</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="99" />
            <source>f32 (CPU only; GPUs keep bf16)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="104" />
            <source>Context length</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="109" />
            <source>%1 tokens</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="120" />
            <source>Now: %1 on %2, context %3 tokens. %4</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="121" />
            <source>No model loaded.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="125" />
            <source>Reload the model with these settings</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="129" />
            <source>This conversation</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="130" />
            <source>Temperature</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="140" />
            <source>Top-p</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="150" />
            <source>Longest reply</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SettingsDialog.qml" line="161" />
            <source>Shortcuts: Ctrl+N new chat · Ctrl+F search · Ctrl+, settings · Esc stop · Ctrl+Shift+P system prompts</source>
            <translation type="unfinished" />
        </message>
    </context>
    <context>
        <name>Sidebar</name>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="23" />
            <source>New chat</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="26" />
            <source>New chat (Ctrl+N)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="31" />
            <source>Search chats (Ctrl+F)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="93" />
            <source>Conversation actions</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="99" />
            <source>Rename</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="100" />
            <source>Unpin</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="100" />
            <source>Pin</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="101" />
            <source>Export as Markdown…</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="102" />
            <source>Export as JSON…</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="104" />
            <source>Delete</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="114" />
            <source>No chat matches "%1".</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="114" />
            <source>No chats yet.</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="121" />
            <source>Import…</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="122" />
            <source>Prompts</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="123" />
            <source>Plugins</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="129" />
            <source>Settings</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="132" />
            <source>Settings (Ctrl+,)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="141" />
            <source>Markdown (*.md)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="141" />
            <source>JSON (*.json)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/Sidebar.qml" line="147" />
            <source>GLM Chat conversation (*.json)</source>
            <translation type="unfinished" />
        </message>
    </context>
    <context>
        <name>StatusLine</name>
        <message>
            <location filename="../app/qml/StatusLine.qml" line="23" />
            <source>No model — choose one</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/StatusLine.qml" line="24" />
            <source>Loading %1…</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/StatusLine.qml" line="25" />
            <source>Model failed to load — choose another</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/StatusLine.qml" line="29" />
            <source>Memory: %1</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/StatusLine.qml" line="38" />
            <source>Backend: %1</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/StatusLine.qml" line="47" />
            <source>%1 tokens/s</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/StatusLine.qml" line="53" />
            <source>Context: %1 / %2</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/StatusLine.qml" line="58" />
            <source>Last prompt: %1 tokens reused from the cache, %2 computed</source>
            <translation type="unfinished" />
        </message>
    </context>
    <context>
        <name>SystemPromptsDialog</name>
        <message>
            <location filename="../app/qml/SystemPromptsDialog.qml" line="10" />
            <source>System prompts</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SystemPromptsDialog.qml" line="17" />
            <source>Close</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SystemPromptsDialog.qml" line="50" />
            <source>%1 (default)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SystemPromptsDialog.qml" line="62" />
            <location filename="../app/qml/SystemPromptsDialog.qml" line="64" />
            <source>New preset</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SystemPromptsDialog.qml" line="75" />
            <source>Name</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SystemPromptsDialog.qml" line="79" />
            <source>You are a helpful assistant…</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SystemPromptsDialog.qml" line="82" />
            <source>Save</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SystemPromptsDialog.qml" line="83" />
            <source>Make default</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SystemPromptsDialog.qml" line="85" />
            <source>Delete</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SystemPromptsDialog.qml" line="91" />
            <source>This conversation</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SystemPromptsDialog.qml" line="100" />
            <source>No preset</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/SystemPromptsDialog.qml" line="108" />
            <source>Or type a prompt for this conversation only</source>
            <translation type="unfinished" />
        </message>
    </context>
    <context>
        <name>ToolCallCard</name>
        <message>
            <location filename="../app/qml/ToolCallCard.qml" line="48" />
            <source>Collapse</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/ToolCallCard.qml" line="48" />
            <source>Expand</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/ToolCallCard.qml" line="51" />
            <source>Result of %1</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/ToolCallCard.qml" line="51" />
            <source>Tool call: %1</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/ToolCallCard.qml" line="63" />
            <source>ok</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/ToolCallCard.qml" line="64" />
            <source>error</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/ToolCallCard.qml" line="65" />
            <source>denied</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/ToolCallCard.qml" line="66" />
            <source>stopped</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/ToolCallCard.qml" line="67" />
            <source>calling…</source>
            <translation type="unfinished" />
        </message>
    </context>
    <context>
        <name>ToolConsentCard</name>
        <message>
            <location filename="../app/qml/ToolConsentCard.qml" line="34" />
            <source>The model wants to call %1 (%2)</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/ToolConsentCard.qml" line="35" />
            <source>built-in</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/ToolConsentCard.qml" line="64" />
            <source>Deny</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/ToolConsentCard.qml" line="70" />
            <source>Always allow this tool</source>
            <translation type="unfinished" />
        </message>
        <message>
            <location filename="../app/qml/ToolConsentCard.qml" line="76" />
            <source>Allow once</source>
            <translation type="unfinished" />
        </message>
    </context>
</TS>