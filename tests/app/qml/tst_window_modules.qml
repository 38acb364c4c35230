import QtQuick
import QtQuick.Controls
import QtQuick.Controls.Material
import QtQuick.Layouts
import QtQuick.Dialogs
import QtTest
import GlmChatCore

// Imports every module the window uses (a missing qml6-module-* package fails here, not at run time)
// and checks the bindings the window relies on.
TestCase {
    name: "WindowModules"

    Component { id: markdown; TextEdit { textFormat: TextEdit.MarkdownText; width: 300 } }
    Component { id: fileDialog; FileDialog {} }
    Component { id: folderDialog; FolderDialog {} }

    function test_conversationsAndSearch() {
        compare(ChatController.conversations.count, 2)
        ChatController.conversations.searchText = "北京"
        compare(ChatController.conversations.count, 1)
        compare(ChatController.conversations.titleAt(0), "Beta 北京")
        ChatController.conversations.searchText = ""
        compare(ChatController.conversations.count, 2)
    }

    function test_markdownBlocksAndRendering() {
        const blocks = ChatController.markdownBlocks("| a | b |\n|---|---|\n| 1 | 2 |\n\n```js\nlet x = 1\n```")
        compare(blocks.length, 2)
        compare(blocks[1].kind, "code")
        compare(blocks[1].language, "js")
        const edit = createTemporaryObject(markdown, this, { text: blocks[0].text })
        verify(edit.implicitHeight > 20)   // the table rendered as rows
        verify(createTemporaryObject(fileDialog, this) !== null)
        verify(createTemporaryObject(folderDialog, this) !== null)
    }

    function test_settingsAreBindable() {
        ChatController.settings.theme = "dark"
        compare(ChatController.settings.theme, "dark")
        ChatController.settings.theme = "system"
        compare(ChatController.modelState, "none")
        compare(ChatController.documentState, "")
    }
}
