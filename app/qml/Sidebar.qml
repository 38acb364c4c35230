import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import QtQuick.Dialogs
import GlmChatCore

// Conversations: new, search as you type (titles and message text), rename, pin, export, delete.
Rectangle {
    id: sidebar
    color: Theme.sidebar
    signal settingsRequested()
    signal promptsRequested()
    signal pluginsRequested()
    function focusSearch() { search.forceActiveFocus(); search.selectAll() }

    ColumnLayout {
        anchors.fill: parent
        anchors.margins: 10
        spacing: 8

        AccentButton {
            Layout.fillWidth: true
            text: qsTr("New chat")
            onClicked: ChatController.newConversation()
            ToolTip.visible: hovered
            ToolTip.text: qsTr("New chat (Ctrl+N)")
        }
        TextField {
            id: search
            Layout.fillWidth: true
            placeholderText: qsTr("Search chats (Ctrl+F)")
            selectByMouse: true
            onTextChanged: ChatController.conversations.searchText = text
            Keys.onEscapePressed: text = ""
        }
        ListView {
            id: list
            Layout.fillWidth: true
            Layout.fillHeight: true
            clip: true
            model: ChatController.conversations
            spacing: 2
            ScrollBar.vertical: ScrollBar {}
            delegate: ItemDelegate {
                id: row
                required property int index
                required property var conversationId
                required property string title
                required property bool pinned
                property bool renaming: false
                width: ListView.view.width
                height: 40
                topInset: 0
                bottomInset: 0
                topPadding: 0
                bottomPadding: 0
                highlighted: conversationId === ChatController.currentConversationId
                background: Rectangle {
                    radius: Theme.radius
                    color: row.highlighted ? Theme.selected : (row.hovered ? Qt.darker(Theme.sidebar, Theme.dark ? 0.85 : 1.04) : "transparent")
                }
                onClicked: ChatController.selectConversation(conversationId)
                contentItem: RowLayout {
                    spacing: 6
                    Label {
                        visible: row.pinned
                        text: "\u2605"
                        color: Theme.accent
                    }
                    Label {
                        visible: !row.renaming
                        Layout.fillWidth: true
                        text: row.title
                        elide: Text.ElideRight
                        color: Theme.text
                    }
                    TextField {
                        id: renameField
                        visible: row.renaming
                        Layout.fillWidth: true
                        text: row.title
                        selectByMouse: true
                        onAccepted: { ChatController.renameConversation(row.conversationId, text); row.renaming = false }
                        Keys.onEscapePressed: row.renaming = false
                        onActiveFocusChanged: if (!activeFocus) row.renaming = false
                    }
                    ToolButton {
                        text: "\u22ef"
                        implicitHeight: 32
                        implicitWidth: 32
                        visible: row.hovered || row.highlighted
                        onClicked: menu.popup()
                        Accessible.name: qsTr("Conversation actions")
                    }
                }
                TapHandler { acceptedButtons: Qt.RightButton; onTapped: menu.popup() }
                Menu {
                    id: menu
                    MenuItem { text: qsTr("Rename"); onTriggered: { row.renaming = true; renameField.forceActiveFocus(); renameField.selectAll() } }
                    MenuItem { text: row.pinned ? qsTr("Unpin") : qsTr("Pin"); onTriggered: ChatController.setPinned(row.conversationId, !row.pinned) }
                    MenuItem { text: qsTr("Export as Markdown…"); onTriggered: { exportDialog.conversationId = row.conversationId; exportDialog.selectedNameFilter.index = 0; exportDialog.open() } }
                    MenuItem { text: qsTr("Export as JSON…"); onTriggered: { exportDialog.conversationId = row.conversationId; exportDialog.selectedNameFilter.index = 1; exportDialog.open() } }
                    MenuSeparator {}
                    MenuItem { text: qsTr("Delete"); onTriggered: ChatController.deleteConversation(row.conversationId) }
                }
            }
            Label {
                anchors.centerIn: parent
                width: parent.width - 20
                horizontalAlignment: Text.AlignHCenter
                wrapMode: Text.Wrap
                visible: list.count === 0
                color: Theme.mutedText
                text: search.text.length > 0 ? qsTr("No chat matches \"%1\".").arg(search.text) : qsTr("No chats yet.")
            }
        }
        RowLayout {
            Layout.fillWidth: true
            spacing: 0
            // Narrow paddings: four buttons share the sidebar's width.
            Button { flat: true; horizontalPadding: 5; font.pixelSize: 13; text: qsTr("Import…"); onClicked: importDialog.open() }
            Button { flat: true; horizontalPadding: 5; font.pixelSize: 13; text: qsTr("Prompts"); onClicked: sidebar.promptsRequested() }
            Button { flat: true; horizontalPadding: 5; font.pixelSize: 13; text: qsTr("Plugins"); onClicked: sidebar.pluginsRequested() }
            Item { Layout.fillWidth: true }
            Button {
                flat: true
                horizontalPadding: 5
                font.pixelSize: 13
                text: qsTr("Settings")
                onClicked: sidebar.settingsRequested()
                ToolTip.visible: hovered
                ToolTip.text: qsTr("Settings (Ctrl+,)")
            }
        }
    }

    FileDialog {
        id: exportDialog
        property var conversationId: 0
        fileMode: FileDialog.SaveFile
        nameFilters: [qsTr("Markdown (*.md)"), qsTr("JSON (*.json)")]
        defaultSuffix: selectedNameFilter.index === 1 ? "json" : "md"
        onAccepted: ChatController.exportConversation(conversationId, selectedFile)
    }
    FileDialog {
        id: importDialog
        nameFilters: [qsTr("GLM Chat conversation (*.json)")]
        onAccepted: ChatController.importConversation(selectedFile)
    }
}
