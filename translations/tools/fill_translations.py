#!/usr/bin/env python3
"""Fills translations/glmchat_*.ts from the tables below after `ninja glmchat_core_lupdate` (or update_translations) added new
source texts. Run: python3 translations/tools/fill_translations.py. A source text missing from a
table is reported (and fails the run), so no string ships untranslated."""
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ZH = {
    '%1 · %2 parameters · needs %3 (%4)': '%1 · %2 参数 · 需要 %3（%4）',
    'by weight format: %1': '按权重格式：%1',
    '%1 · %2 parameters · needs %3 (%4, %5 KV cache)': '%1 · %2 参数 · 需要 %3（%4，KV 缓存 %5）',
    'by KV cache: %1': '按 KV 缓存：%1',
    'KV cache': 'KV 缓存',
    'bf16': 'bf16',
    'f32 (CPU only; GPUs keep bf16)': 'f32（仅 CPU；GPU 使用 bf16）',
    'Weights': '权重',
    'bf16 (as downloaded)': 'bf16（下载时的格式）',
    'int8 (half the memory)': 'int8（约一半内存）',
    'int4 (a third of the memory)': 'int4（约三分之一内存）',
    'int4, groups of 128 (smallest)': 'int4，128 一组（最小）',
    'New conversation': '新对话',
    'Cannot write %1: %2': '无法写入 %1：%2',
    'Cannot read %1: %2': '无法读取 %1：%2',
    '%1 is not valid JSON: %2': '%1 不是有效的 JSON：%2',
    'Cannot import %1: %2': '无法导入 %1：%2',
    'Load a model first.': '请先加载模型。',
    '… %n more characters (copy the message to see all of it)': '…… 还有 %n 个字符（复制消息可查看全文）',
    'Untitled prompt': '未命名提示词',
    'Document: %1': '文档：%1',
    'Summarize this document.': '请总结这份文档。',
    'The document needs about %1 tokens but only %2 are free: choose Truncate or Summarize in parts.':
        '该文档约需 %1 个词元，但上下文只剩 %2 个：请选择“截断”或“分段总结”。',
    'truncated by the user to its first %1%': '已按用户选择截断为前 %1%',
    'Summarizing part %1 of %2': '正在总结第 %1 部分，共 %2 部分',
    'This is part %1 of %2 of the document "%3". Summarize it, keeping every fact, name and number that matters.\n\n"""\n%4\n"""':
        '这是文档“%3”的第 %1 部分（共 %2 部分）。请总结这一部分，保留所有重要的事实、名称和数字。\n\n"""\n%4\n"""',
    'Part %1: %2': '第 %1 部分：%2',
    'summarized in %n parts': '分 %n 部分总结',
    'Reading the prompt: %1% · about %2 s left': '正在读取提示：%1% · 约剩 %2 秒',
    'Reading the prompt: %1%': '正在读取提示：%1%',
    'Cancel': '取消',
    'Attach a document (txt, md, code, html, pdf, docx)': '附加文档（txt、md、代码、html、pdf、docx）',
    'Attach a document': '附加文档',
    'Message GLM (Enter to send, Shift+Enter for a new line)': '给 GLM 发消息（Enter 发送，Shift+Enter 换行）',
    'Load a model to start chatting': '加载模型后即可开始聊天',
    'Stop': '停止',
    'Send': '发送',
    'Stop (Esc)': '停止（Esc）',
    'Documents (%1)': '文档 (%1)',
    'All files (*)': '所有文件 (*)',
    'GLM Chat': 'GLM Chat',
    'Ask anything, or drop a document (PDF, Word, Markdown, HTML, code) to summarize it or ask about it.':
        '随便问点什么，或拖入文档（PDF、Word、Markdown、HTML、代码）进行总结或提问。',
    'Offline chat with GLM models. Everything stays on this computer.': '使用 GLM 模型离线聊天，所有数据都留在本机。',
    'Reading the document…': '正在读取文档……',
    '%1 tokens': '%1 个词元',
    'about %1 tokens': '约 %1 个词元',
    '%1 free in the context': '上下文剩余 %1',
    'Remove the document': '移除文档',
    'The document does not fit in the context. Truncate it to the part that fits, or summarize it in parts (each part is summarized, then the summaries are combined).':
        '文档超出了上下文长度。可以截断为能放下的部分，或分段总结（先逐段总结，再合并各段摘要）。',
    'Summarize in parts': '分段总结',
    'Truncate to fit': '截断以适应',
    'Summarize': '总结',
    'or type a question below and press Enter to ask about it': '或在下方输入问题并按 Enter 提问',
    'Loading was cancelled.': '已取消加载。',
    'Could not load the model from %1: %2': '无法从 %1 加载模型：%2',
    'No model is loaded.': '尚未加载模型。',
    'The conversation needs %1 tokens, more than the context of %2 tokens. Start a new conversation or load the model with a longer context.':
        '此对话需要 %1 个词元，超过了 %2 个词元的上下文。请开始新对话，或以更长的上下文重新加载模型。',
    'Generation failed: %1': '生成失败：%1',
    '%1 — GLM Chat': '%1 — GLM Chat',
    'Drop a document to attach it': '松开以附加文档',
    'Conversation deleted': '对话已删除',
    'Undo': '撤销',
    'You': '你',
    'Assistant': '助手',
    'Send as new branch': '作为新分支发送',
    'Previous branch': '上一个分支',
    '%1 / %2': '%1 / %2',
    'Next branch': '下一个分支',
    'Copy': '复制',
    'Edit': '编辑',
    'Regenerate': '重新生成',
    '%n tokens': '%n 个词元',
    'stopped': '已停止',
    'failed': '失败',
    'code': '代码',
    'Copied': '已复制',
    'Copy code': '复制代码',
    'Choose a model': '选择模型',
    'Open model folder…': '打开模型文件夹……',
    'Loading %1… %2%': '正在加载 %1…… %2%',
    'Looking for GLM models on this computer…': '正在本机查找 GLM 模型……',
    'Models found on this computer (memory needed at a context of %1 tokens):': '在本机找到的模型（上下文为 %1 个词元时所需内存）：',
    'No GLM model was found in ~/models or the Hugging Face cache. Open a model folder (config.json, *.safetensors and the tokenizer).':
        '在 ~/models 和 Hugging Face 缓存中没有找到 GLM 模型。请打开一个模型文件夹（含 config.json、*.safetensors 和分词器）。',
    'recent': '最近使用',
    'cannot be used': '无法使用',
    '%1 · %2 parameters · needs %3': '%1 · %2 参数 · 需要 %3',
    'Open a GLM model folder': '打开 GLM 模型文件夹',
    '%1 is not a text file (it contains binary data).': '%1 不是文本文件（包含二进制数据）。',
    '%1 is not a readable .docx file (not a zip archive).': '%1 不是可读取的 .docx 文件（不是 zip 压缩包）。',
    '%1 is not a Word document (word/document.xml is missing).': '%1 不是 Word 文档（缺少 word/document.xml）。',
    'Cannot read word/document.xml in %1.': '无法读取 %1 中的 word/document.xml。',
    "%1: the document's XML is damaged (%2).": '%1：文档的 XML 已损坏（%2）。',
    '%1 is protected by a password.': '%1 受密码保护。',
    '%1 is not a readable PDF file.': '%1 不是可读取的 PDF 文件。',
    '%1 has no text layer (a scanned PDF?); text recognition is not supported.': '%1 没有文本层（可能是扫描版 PDF），不支持文字识别。',
    '%1 does not exist.': '%1 不存在。',
    '%1 cannot be read (not a file, or no permission).': '无法读取 %1（不是文件，或没有权限）。',
    'Cannot open %1: %2': '无法打开 %1：%2',
    'Settings': '设置',
    'Theme': '主题',
    'Follow the system': '跟随系统',
    'Light': '浅色',
    'Dark': '深色',
    'Language': '语言',
    'Backend': '后端',
    'GPU (Vulkan)': 'GPU（Vulkan）',
    'Best GPU': '最佳 GPU',
    'Best GPU (Vulkan: %1)': '最佳 GPU（Vulkan：%1）',
    'Automatic (best available)': '自动（选择最佳可用）',
    'CPU': 'CPU',
    'Context length': '上下文长度',
    'Now: %1 on %2, context %3 tokens. %4': '当前：%1，运行于 %2，上下文 %3 个词元。%4',
    'No model loaded.': '未加载模型。',
    'Reload the model with these settings': '用这些设置重新加载模型',
    'Shortcuts: Ctrl+N new chat · Ctrl+F search · Ctrl+, settings · Esc stop · Ctrl+Shift+P system prompts':
        '快捷键：Ctrl+N 新聊天 · Ctrl+F 搜索 · Ctrl+, 设置 · Esc 停止 · Ctrl+Shift+P 系统提示词',
    'New chat': '新聊天',
    'New chat (Ctrl+N)': '新聊天（Ctrl+N）',
    'Search chats (Ctrl+F)': '搜索聊天（Ctrl+F）',
    'Conversation actions': '对话操作',
    'Rename': '重命名',
    'Unpin': '取消置顶',
    'Pin': '置顶',
    'Export as Markdown…': '导出为 Markdown……',
    'Export as JSON…': '导出为 JSON……',
    'Delete': '删除',
    'No chat matches "%1".': '没有与“%1”匹配的聊天。',
    'No chats yet.': '还没有聊天。',
    'Import…': '导入……',
    'Prompts': '提示词',
    'Settings (Ctrl+,)': '设置（Ctrl+,）',
    'Markdown (*.md)': 'Markdown (*.md)',
    'JSON (*.json)': 'JSON (*.json)',
    'GLM Chat conversation (*.json)': 'GLM Chat 对话 (*.json)',
    'No model — choose one': '未选择模型 — 点此选择',
    'Loading %1…': '正在加载 %1……',
    'Model failed to load — choose another': '模型加载失败 — 请另选一个',
    'Memory: %1': '内存：%1',
    'Backend: %1': '后端：%1',
    '%1 tokens/s': '%1 词元/秒',
    'Context: %1 / %2': '上下文：%1 / %2',
    'Last prompt: %1 tokens reused from the cache, %2 computed': '上一次提示：从缓存复用 %1 个词元，新计算 %2 个',
    'System prompts': '系统提示词',
    '%1 (default)': '%1（默认）',
    'New preset': '新建预设',
    'Name': '名称',
    'You are a helpful assistant…': '你是一个乐于助人的助手……',
    'Save': '保存',
    'Make default': '设为默认',
    'This conversation': '当前对话',
    'No preset': '不使用预设',
    'Or type a prompt for this conversation only': '或输入仅用于此对话的提示词',
    'Close': '关闭',
    'Temperature': '温度',
    'Top-p': 'Top-p',
    'Longest reply': '最长回复（词元）',
    'Offline chat with GLM-4 models. 你好！': '使用 GLM-4 模型离线聊天。你好！',
    'Engine %1': '引擎 %1',
    # Plugins page, tool consent and tool-call cards.
    'Add an MCP server': '添加 MCP 服务器',
    'Add server': '添加服务器',
    'Allow a folder…': '允许访问文件夹……',
    'Allow once': '允许一次',
    'Always allow this tool': '始终允许此工具',
    'Always allow': '始终允许',
    'Arguments': '参数',
    'Ask': '每次询问',
    'Calculator': '计算器',
    'Collapse': '收起',
    'Command': '命令',
    'Date and time': '日期和时间',
    'Deny': '拒绝',
    'Environment': '环境变量',
    'Expand': '展开',
    'Files you allowed': '你允许访问的文件',
    'Hide log': '隐藏日志',
    'In this conversation': '在此对话中启用',
    'KEY=value, one per line': 'KEY=value，每行一个',
    'MCP server · %1': 'MCP 服务器 · %1',
    'No tools listed yet: start the server to list them.': '尚未列出工具：启动服务器后即可列出。',
    'No tools.': '没有工具。',
    'Plugins are unavailable: the conversation store could not be opened.': '插件不可用：无法打开对话存储。',
    'Plugins': '插件',
    'Remove': '移除',
    'Result of %1': '%1 的结果',
    'Search your conversations': '搜索你的对话',
    'Show log': '显示日志',
    'Start / restart': '启动 / 重启',
    'The log is empty.': '日志为空。',
    'The model wants to call %1 (%2)': '模型想要调用 %1（%2）',
    'The server could not be added: check the name (unique) and the command.': '无法添加服务器：请检查名称（不可重复）和命令。',
    'The switches choose the plugins this conversation offers the model. Every call asks you first unless its tool is set to Always allow.': '开关决定此对话向模型提供哪些插件。除非工具设为“始终允许”，否则每次调用都会先征求你的同意。',
    'Tool call: %1': '工具调用：%1',
    'Tool calls in a row (at most)': '连续工具调用次数（上限）',
    'Working folder': '工作目录',
    'built-in': '内置',
    'calling…': '正在调用……',
    'denied': '已拒绝',
    'e.g. /usr/bin/python3': '例如 /usr/bin/python3',
    'e.g. server.py --stdio': '例如 server.py --stdio',
    'e.g. weather': '例如 weather',
    'error': '出错',
    'not running': '未运行',
    'ok': '成功',
    'optional': '可选',
    'running': '运行中',
    'starting': '正在启动',
}

# English needs only its plural forms.
EN_PLURALS = {
    '… %n more characters (copy the message to see all of it)':
        ['… %n more character (copy the message to see all of it)', '… %n more characters (copy the message to see all of it)'],
    'summarized in %n parts': ['summarized in %n part', 'summarized in %n parts'],
    '%n tokens': ['%n token', '%n tokens'],
}


def fill(path, table, plurals):
    tree = ET.parse(path)
    missing = []
    for message in tree.getroot().iter('message'):
        source = message.find('source').text or ''
        translation = message.find('translation')
        if translation.get('type') in ('vanished', 'obsolete'):
            continue
        numerus = message.get('numerus') == 'yes'
        if plurals is not None:
            if numerus and source in plurals:
                for child in list(translation):
                    translation.remove(child)
                translation.text = None
                for form in plurals[source]:
                    ET.SubElement(translation, 'numerusform').text = form
                translation.attrib.pop('type', None)
            continue
        if source not in table:
            missing.append(source)
            continue
        for child in list(translation):
            translation.remove(child)
        if numerus:
            translation.text = None
            ET.SubElement(translation, 'numerusform').text = table[source]
        else:
            translation.text = table[source]
        translation.attrib.pop('type', None)
    ET.indent(tree, space='    ')
    with open(path, 'wb') as f:
        f.write(b'<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE TS>\n')
        tree.write(f, encoding='utf-8', xml_declaration=False)
    return missing


root = Path(__file__).resolve().parent.parent
missing = fill(root / 'glmchat_zh_CN.ts', ZH, None)
fill(root / 'glmchat_en.ts', {}, EN_PLURALS)
if missing:
    print('untranslated (add them to ZH):', *missing, sep='\n  ')
    sys.exit(1)
print('translations filled')
