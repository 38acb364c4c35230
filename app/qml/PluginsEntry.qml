import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import QtQuick.Dialogs
import GlmChatCore

// One plugin on the plugins page: enabled for this conversation, its tools and their policies;
// for an MCP server also its state, restart, remove and its stderr log.
Rectangle {
    id: entry
    required property var plugin   // an entry of ToolHost.plugins
    required property var host
    readonly property bool isServer: plugin.kind === "mcp"
    property bool showLog: false
    implicitHeight: column.implicitHeight + 20
    radius: Theme.radius
    color: Theme.sidebar
    border.color: plugin.error && plugin.error.length > 0 ? Theme.danger : Theme.border

    function displayName(name) {
        return name === "calculator" ? qsTr("Calculator")
             : name === "datetime" ? qsTr("Date and time")
             : name === "files" ? qsTr("Files you allowed")
             : name === "conversation_search" ? qsTr("Search your conversations") : name
    }

    ColumnLayout {
        id: column
        anchors.left: parent.left
        anchors.right: parent.right
        anchors.top: parent.top
        anchors.margins: 10
        spacing: 6

        RowLayout {
            Layout.fillWidth: true
            spacing: 8
            Label { text: entry.displayName(entry.plugin.name); font.bold: true; color: Theme.text; elide: Text.ElideRight }
            Label {
                text: entry.isServer ? qsTr("MCP server · %1").arg(entry.plugin.state === "ready" ? qsTr("running") : entry.plugin.state === "starting" ? qsTr("starting") : qsTr("not running")) : qsTr("built-in")
                color: Theme.mutedText
                font.pixelSize: 12
                Layout.fillWidth: true
                elide: Text.ElideRight
            }
            Switch {
                text: qsTr("In this conversation")
                enabled: ChatController.currentConversationId !== 0
                // Re-read whenever the plugins change (the host emits pluginsChanged on every switch).
                checked: (entry.host.plugins, entry.host.isPluginEnabled(ChatController.currentConversationId, entry.plugin.id))
                onToggled: entry.host.setPluginEnabled(ChatController.currentConversationId, entry.plugin.id, checked)
            }
        }
        Label {
            visible: entry.isServer
            Layout.fillWidth: true
            text: [entry.plugin.command].concat(entry.plugin.arguments || []).join(" ")
            font.family: Theme.monoFont
            font.pixelSize: 12
            color: Theme.mutedText
            elide: Text.ElideMiddle
        }
        Label {
            visible: entry.plugin.error && entry.plugin.error.length > 0
            Layout.fillWidth: true
            wrapMode: Text.Wrap
            text: entry.plugin.error || ""
            color: Theme.danger
        }
        Label {
            visible: (entry.plugin.tools || []).length === 0
            text: entry.isServer ? qsTr("No tools listed yet: start the server to list them.") : qsTr("No tools.")
            color: Theme.mutedText
        }
        Repeater {
            model: entry.plugin.tools || []
            delegate: RowLayout {
                id: toolRow
                required property var modelData
                Layout.fillWidth: true
                spacing: 8
                ColumnLayout {
                    Layout.fillWidth: true
                    spacing: 0
                    Label { text: toolRow.modelData.name; font.family: Theme.monoFont; color: Theme.text }
                    Label {
                        Layout.fillWidth: true
                        text: toolRow.modelData.description
                        color: Theme.mutedText
                        font.pixelSize: 12
                        elide: Text.ElideRight
                    }
                }
                ComboBox {
                    Layout.preferredWidth: 170
                    textRole: "label"
                    valueRole: "value"
                    model: [{ label: qsTr("Ask"), value: "ask" }, { label: qsTr("Always allow"), value: "always" },
                            { label: qsTr("Deny"), value: "deny" }]
                    Component.onCompleted: currentIndex = Math.max(0, indexOfValue(toolRow.modelData.policy))
                    onActivated: entry.host.setToolPolicy(entry.plugin.id, toolRow.modelData.name, currentValue)
                }
            }
        }
        // The files tool reads only what the user added here.
        ColumnLayout {
            visible: entry.plugin.name === "files" && !entry.isServer
            Layout.fillWidth: true
            spacing: 2
            Repeater {
                model: entry.host.allowedPaths
                delegate: RowLayout {
                    id: pathRow
                    required property string modelData
                    Layout.fillWidth: true
                    Label { text: pathRow.modelData; color: Theme.text; elide: Text.ElideMiddle; Layout.fillWidth: true }
                    ToolButton { text: qsTr("Remove"); font.pixelSize: 12; onClicked: entry.host.removeAllowedPath(pathRow.modelData) }
                }
            }
            Button { flat: true; text: qsTr("Allow a folder…"); onClicked: folderDialog.open() }
        }
        RowLayout {
            visible: entry.isServer
            spacing: 4
            Button { flat: true; text: qsTr("Start / restart"); onClicked: entry.host.refreshPlugin(entry.plugin.id) }
            Button { flat: true; text: entry.showLog ? qsTr("Hide log") : qsTr("Show log"); onClicked: entry.showLog = !entry.showLog }
            Button { flat: true; text: qsTr("Remove"); onClicked: entry.host.removePlugin(entry.plugin.id) }
        }
        Rectangle {
            visible: entry.showLog
            Layout.fillWidth: true
            implicitHeight: 160
            radius: Theme.radius
            color: Theme.codeBackground
            border.color: Theme.border
            ScrollView {
                anchors.fill: parent
                anchors.margins: 6
                TextArea {
                    readOnly: true
                    selectByMouse: true
                    wrapMode: TextEdit.WrapAnywhere
                    font.family: Theme.monoFont
                    font.pixelSize: 12
                    color: Theme.text
                    background: null
                    // Re-read when the server's state changes (the log grows as it runs).
                    text: entry.showLog ? (entry.plugin.state, entry.host.logText(entry.plugin.id) || qsTr("The log is empty.")) : ""
                }
            }
        }
    }
    FolderDialog {
        id: folderDialog
        onAccepted: entry.host.addAllowedPath(selectedFolder)
    }
}
